/** The Redis Cluster key slot (CRC16 of the key's hash tag, mod 16384); ioredis uses the same. */
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
