import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Store } from '../../src/store/store.ts'
import { LEGACY_PARTITION, newBlueprintProfile, type BlueprintProfile } from '../../src/baselines/profiles.ts'
import { chTime } from '../../src/store/rows.ts'
import { testConfig } from '../helpers/store.ts'

let store: Store
beforeAll(async () => {
  store = await Store.open(testConfig().store)
})
afterAll(async () => {
  await store.close()
})

function partial(id: string, partition: number, learned: number): BlueprintProfile {
  const b = newBlueprintProfile(id)
  b.partition = partition
  b.learned = learned
  return b
}

describe('partial blueprint baselines in ClickHouse', () => {
  // Ids with characters that a text format or a quoted literal could confuse.
  const ids = ['bp', "it's", 'tab\there', 'ünï\\']

  it('reads the latest version of each (blueprint, partition), by partition or by key, and a blueprint saved before partials as partition -1', async () => {
    store.checkpoint([], ids.flatMap((id) => [partial(id, 0, 1), partial(id, 1, 1)]))
    await store.flush()
    store.checkpoint([], ids.flatMap((id) => [partial(id, 0, 2)]))
    await store.flush()
    // What the previous layout saved: one row per blueprint, no partition.
    await store.ch.client.insert({
      table: `${store.ch.database}.blueprint_baselines`,
      values: [{ blueprint_id: 'bp', version: 1, saved_at: chTime(0), agents: 3, learned: 7, state: JSON.stringify({ ...newBlueprintProfile('bp'), learned: 7 }) }],
      format: 'JSONEachRow',
    })

    const all = await store.loadPartials()
    const key = (p: { blueprintId: string; partition: number }) => `${p.blueprintId}/${p.partition}`
    expect(all.map(key).sort()).toEqual([...ids.flatMap((id) => [`${id}/0`, `${id}/1`]), `bp/${LEGACY_PARTITION}`].sort())
    for (const p of all) {
      expect(p.profile.blueprintId).toBe(p.blueprintId)
      expect(p.profile.partition).toBe(p.partition)
      expect(p.profile.learned).toBe(p.partition === LEGACY_PARTITION ? 7 : p.partition === 0 ? 2 : 1)
    }
    expect((await store.loadPartials({ partitions: [1] })).map(key).sort()).toEqual(ids.map((id) => `${id}/1`).sort())
    expect(await store.loadPartials({ partitions: [] })).toEqual([])

    const versions = await store.partialVersions()
    expect(versions.map(key).sort()).toEqual(all.map(key).sort())
    for (const v of versions) expect(v.version).toBe(all.find((p) => key(p) === key(v))!.version)
    const some = versions.filter((v) => v.blueprintId !== 'bp')
    expect((await store.loadPartials({ keys: some })).map(key).sort()).toEqual(some.map(key).sort())
  })
})
