// Placeholder until the broker script lands: Kafka tests are skipped when KAFKA_BROKERS is unset.
export default async function setup(): Promise<void> {}
