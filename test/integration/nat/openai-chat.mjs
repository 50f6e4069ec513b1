// Inside the router's namespace: one chat completion through the node's API with the official SDK.
import OpenAI from 'openai'

const [baseURL, model] = process.argv.slice(2)
const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 60_000 })
const { data, response } = await client.chat.completions
  .create({ model, messages: [{ role: 'user', content: 'Say hello across the NAT' }], max_tokens: 24, temperature: 0 })
  .withResponse()
process.stdout.write(
  JSON.stringify({
    content: data.choices[0]?.message?.content ?? '',
    usage: data.usage,
    provider: response.headers.get('x-meshwork-provider'),
    meshwork: data.meshwork
  })
)
