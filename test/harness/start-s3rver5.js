// usage: [S3_KEYS="id:secret,id2:secret2"] node start-s3rver5.js <dir> <port> <bucket>[,<bucket2>...]
// @20minutes/s3rver 5.0.0 has no CLI; default key pair is S3RVER/S3RVER.  A second, independent
// SigV4 verifier for btexport's tests.
const S3rver = require('@20minutes/s3rver');
const { DUMMY_ACCOUNT } = require('@20minutes/s3rver/lib/models/account');
const [dir, port, buckets] = process.argv.slice(2);
for (const kv of (process.env.S3_KEYS || '').split(',').filter(Boolean)) {
  const i = kv.indexOf(':'); DUMMY_ACCOUNT.createKeyPair(kv.slice(0, i), kv.slice(i + 1));
}
new S3rver({ directory: dir, address: '127.0.0.1', port: Number(port), silent: true,
             configureBuckets: buckets.split(',').map((name) => ({ name, configs: [] })) })
  .run((err, addr) => { if (err) { console.error(err); process.exit(1); }
                        console.log(`s3rver listening ${addr.address}:${addr.port}`); });
