export * from "./KafkaCluster.js"
export * from "./KafkaJars.js"
