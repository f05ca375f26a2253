// Produce one record to a topic the way a Node.js platform would, without Hemicycle code.
// usage: node produce.js BOOTSTRAP TOPIC KEY < value.json   (headers: type, schema_version)
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic, key] = process.argv.slice(2);
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const value = Buffer.concat(chunks).toString('utf8').trim();
  const kafka = new Kafka({ clientId: 'platform-js', brokers: [bootstrap], logLevel: logLevel.ERROR });
  const producer = kafka.producer();
  await producer.connect();
  const type = JSON.parse(value).type;
  const result = await producer.send({
    topic,
    acks: -1,
    messages: [{ key, value, headers: { type, schema_version: '1' } }],
  });
  console.log(JSON.stringify(result));
  await producer.disconnect();
}

main().catch((err) => { console.error(err.message); process.exit(1); });
