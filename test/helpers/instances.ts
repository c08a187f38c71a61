/**
 * Two service instances of one consumer group without a broker: they share one Store (as instances
 * of a cluster share one ClickHouse server; chDB binds a folder to one process) and split four
 * partitions, A holding 0-1 and B 2-3, through what the Kafka source calls on assignment.
 */
import { createService, type Service } from '../../src/service.ts'
import { Store } from '../../src/store/store.ts'
import { testConfig } from './store.ts'

export interface TwoInstances {
  store: Store
  a: Service
  b: Service
  stop(): Promise<void>
}

export async function twoInstances(): Promise<TwoInstances> {
  const cfg = testConfig({ kafka: { enabled: true } })
  const store = await Store.open(cfg.store)
  const a = await createService(cfg, { store })
  const b = await createService(cfg, { store })
  await a.restorePartitions([0, 1])
  await b.restorePartitions([2, 3])
  return {
    store,
    a,
    b,
    stop: async () => {
      await a.stop()
      await b.stop()
      await store.close()
    },
  }
}
