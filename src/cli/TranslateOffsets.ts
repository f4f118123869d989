/**
 * `effect-mm2 translate-offsets --config mm2.properties --group G --source primary --target backup
 * [--reverse] [--apply]`: prints, per partition, where group G resumes after a failover from
 * --source to --target (or a failback with --reverse) and how exact that is
 * (client/GroupTranslation.ts); with --apply, writes it into the group where it moves.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { applyTranslation, type Direction, type TranslatedPartition, translateGroup } from "../client/GroupTranslation.js"
import * as Mm2Config from "../config/Mm2Config.js"
import * as KafkaJsClient from "../kafka/KafkaJsClient.js"

const exactness = (t: TranslatedPartition): string =>
  t.toOffset === undefined
    ? "no sync reaches back this far: not translated"
    : t.maxReread === undefined
    ? "unknown re-reads"
    : t.maxReread === 0n
    ? "exact"
    : `re-reads at most ${t.maxReread} records`

export const command = Command.make("translate-offsets", {
  config: Options.text("config").pipe(Options.withAlias("c"), Options.withDescription("the MirrorMaker 2 properties file")),
  group: Options.text("group").pipe(Options.withDescription("the consumer group to translate")),
  source: Options.text("source").pipe(Options.withDescription("alias of the flow's source cluster (where the group consumed before a failover)")),
  target: Options.text("target").pipe(Options.withDescription("alias of the flow's target cluster (where it fails over to)")),
  reverse: Options.boolean("reverse").pipe(
    Options.withDescription(
      "failback: translate the group's position on the remote topics of --target back to the topics of --source"
    )
  ),
  apply: Options.boolean("apply").pipe(
    Options.withDescription(
      "write the translated offsets into the group on the cluster it moves to (--target, or --source with --reverse); " +
        "refused while the group has members there, and a partition is never moved backwards"
    )
  )
}, (args) =>
  Effect.gen(function*() {
    const settings = yield* Mm2Config.load(args.config)
    const direction: Direction = args.reverse ? "failback" : "failover"
    const [from, to] = args.reverse ? [args.target, args.source] : [args.source, args.target]
    const rows = yield* translateGroup(settings, args.group, args.source, args.target, direction)
    if (rows.length === 0) {
      yield* Console.log(`group ${args.group}: no committed offsets on ${from} for topics replicated by ${args.source}->${args.target}`)
      return
    }
    yield* Console.log(`topic\tpartition\t${from}-offset\t${to}-topic\t${to}-offset\texactness`)
    for (const r of rows) {
      yield* Console.log([r.topic, r.partition, r.fromOffset, r.toTopic, r.toOffset ?? "-", exactness(r)].join("\t"))
    }
    if (!args.apply) return
    const applied = yield* applyTranslation(settings, args.group, to, rows)
    for (const a of applied.ahead) {
      yield* Console.log(`left ${a.row.toTopic}-${a.row.partition} at ${a.current}: the group already stands at or past ${a.row.toOffset} on ${to}`)
    }
    const untranslated = rows.filter((r) => r.toOffset === undefined)
    for (const r of untranslated) {
      yield* Console.log(`not written ${r.toTopic}-${r.partition}: not translated (start it from the beginning of ${r.toTopic} to be safe)`)
    }
    yield* Console.log(`applied: group ${args.group} on ${to}: ${applied.written.length} partition(s) written`)
  }).pipe(Effect.provide(KafkaJsClient.layer))).pipe(
    Command.withDescription(
      "Prints where consumer group --group must resume after a failover from --source to --target (or, with --reverse, after " +
        "failing back from --target to --source), per partition, from the offset syncs: never past its true position, and how " +
        "exact that is. Changes nothing unless --apply is given."
    )
  )
