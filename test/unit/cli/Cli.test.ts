import { describe, expect, it } from "@effect/vitest"
import { hoistLogLevel } from "../../../src/cli/Cli.js"

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
})
