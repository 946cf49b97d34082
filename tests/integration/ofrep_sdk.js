// ofrep_sdk.js - evaluates flags against a switchyard server through the real OpenFeature
// server SDK and its OFREP provider, printing one JSON line per evaluation:
//   {"flag", "type", "context", "value", "variant", "reason", "errorCode"}
// for ofrep_sdk.sh to compare with `switchyard eval`.
//
//   node ofrep_sdk.js URL TOKEN CASES_JSON
// CASES_JSON: [{"flag", "type": "boolean|string|number|object", "default", "context"}]
const { OpenFeature } = require('@openfeature/server-sdk');
const { OFREPProvider } = require('@openfeature/ofrep-provider');

async function main() {
  const [url, token, casesJson] = process.argv.slice(2);
  const cases = JSON.parse(casesJson);
  await OpenFeature.setProviderAndWait(
    new OFREPProvider({ baseUrl: url, headers: [['Authorization', `Bearer ${token}`]] }));
  const client = OpenFeature.getClient();
  const method = {
    boolean: 'getBooleanDetails', string: 'getStringDetails',
    number: 'getNumberDetails', object: 'getObjectDetails',
  };
  for (const c of cases) {
    const d = await client[method[c.type]](c.flag, c.default, c.context);
    console.log(JSON.stringify({
      flag: c.flag, type: c.type, context: c.context, value: d.value,
      variant: d.variant ?? null, reason: d.reason ?? null, errorCode: d.errorCode ?? null,
    }));
  }
  await OpenFeature.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
