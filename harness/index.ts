export * from "./Certificates.js"
export * from "./KafkaCluster.js"
export * from "./KafkaJars.js"
export * from "./LatencyProxy.js"
