import type { Admin } from 'kafkajs';

/** Creates the service's topics that are missing; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, topics: string[], numPartitions: number): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length > 0) {
    await admin.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions })),
      waitForLeaders: true,
    });
  }
  return missing;
}
