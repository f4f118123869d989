/**
 * Every duty a herder can run, in start order. Adding a duty: its own file, and one line here.
 */
import { AclSyncTask } from "./AclSyncTask.js"
import { CheckpointTask } from "./CheckpointTask.js"
import { GroupOffsetSyncTask } from "./GroupOffsetSyncTask.js"
import { HeartbeatTask } from "./HeartbeatTask.js"
import { leaderElectionTask } from "./LeaderElectionTask.js"
import type { HerderTask } from "./HerderTask.js"
import { OffsetSyncTask } from "./OffsetSyncTask.js"
import { ReplicationTask } from "./ReplicationTask.js"
import { TopicConfigSyncTask } from "./TopicConfigSyncTask.js"

const DUTIES: ReadonlyArray<HerderTask> = [
  ReplicationTask,
  HeartbeatTask,
  OffsetSyncTask,
  CheckpointTask,
  GroupOffsetSyncTask,
  TopicConfigSyncTask,
  AclSyncTask
]

/** The election first: the once-per-flow duties wait for it. */
export const TASKS: ReadonlyArray<HerderTask> = [leaderElectionTask(DUTIES), ...DUTIES]
