import { describe, expect, it } from "@effect/vitest"
import { LogLevel } from "effect"
import { hoistLogLevel, logSettings } from "../../../src/cli/Cli.js"

describe("command line", () => {
  it("takes --log-level anywhere, as users write it", () => {
    expect(hoistLogLevel(["node", "main.js", "--config", "f", "--log-level", "debug", "--validate"]))
      .toEqual(["node", "main.js", "--log-level", "debug", "--config", "f", "--validate"])
    expect(hoistLogLevel(["node", "main.js", "translate-offsets", "--group", "g", "--log-level=warning"]))
      .toEqual(["node", "main.js", "--log-level=warning", "translate-offsets", "--group", "g"])
    // left alone: already first, a dangling flag, and anything after --
    expect(hoistLogLevel(["node", "main.js", "--log-level", "info", "f"])).toEqual(["node", "main.js", "--log-level", "info", "f"])
    expect(hoistLogLevel(["node", "main.js", "f", "--log-level"])).toEqual(["node", "main.js", "f", "--log-level"])
    expect(hoistLogLevel(["node", "main.js", "f", "--", "--log-level", "x"])).toEqual(["node", "main.js", "f", "--", "--log-level", "x"])
  })

  it("takes --log-format anywhere too, with --log-level, in the order given", () => {
    expect(hoistLogLevel(["node", "main.js", "f", "--log-format", "json", "--clusters", "b", "--log-level=debug"]))
      .toEqual(["node", "main.js", "--log-format", "json", "--log-level=debug", "f", "--clusters", "b"])
    expect(hoistLogLevel(["node", "main.js", "translate-offsets", "--log-format=json", "--group", "g"]))
      .toEqual(["node", "main.js", "--log-format=json", "translate-offsets", "--group", "g"])
  })

  it("reads the log format and level before parsing: default text at info, the last one wins, a wrong value is left to the parser", () => {
    expect(logSettings(["node", "main.js", "f"])).toEqual({ format: "text", level: LogLevel.Info })
    expect(logSettings(["node", "main.js", "f", "--log-format", "json", "--log-level", "debug"]))
      .toEqual({ format: "json", level: LogLevel.Debug })
    expect(logSettings(["node", "main.js", "--log-format=json", "f", "--log-format=text", "--log-level=warning"]))
      .toEqual({ format: "text", level: LogLevel.Warning })
    expect(logSettings(["node", "main.js", "--log-format", "xml", "--log-level", "constructor"]))
      .toEqual({ format: "text", level: LogLevel.Info })
    expect(logSettings(["node", "main.js", "f", "--", "--log-format", "json"])).toEqual({ format: "text", level: LogLevel.Info })
    expect(logSettings(["node", "main.js", "f", "--log-format"])).toEqual({ format: "text", level: LogLevel.Info })
  })
})
