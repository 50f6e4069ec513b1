import type { ChatHistoryItem } from 'node-llama-cpp'
import type { LoadedModel } from './engine'
import type { ChatMessage } from './schemas'

function contentText(content: ChatMessage['content']): string {
  if (content == null) return ''
  if (typeof content === 'string') return content
  return content.map((p) => (p.type === 'text' ? (p.text ?? '') : '')).join('')
}

/**
 * Renders OpenAI messages with the model's chat template (node-llama-cpp picks it from the GGUF)
 * into prompt token ids, ending with an open assistant turn. Plain-text stop triggers of the
 * template are returned as stop strings; special-token triggers end generation as EOG tokens.
 */
export function renderChat(model: LoadedModel, messages: ChatMessage[]): { tokens: number[]; stop: string[] } {
  const history: ChatHistoryItem[] = []
  for (const m of messages) {
    const text = contentText(m.content)
    if (m.role === 'system' || m.role === 'developer') history.push({ type: 'system', text })
    else if (m.role === 'assistant') history.push({ type: 'model', response: [text] })
    else history.push({ type: 'user', text })
  }
  history.push({ type: 'model', response: [] })
  const state = model.chatWrapper.generateContextState({ chatHistory: history })
  const tokens = state.contextText.tokenize(model.model.tokenizer)
  const stop: string[] = []
  for (const trigger of state.stopGenerationTriggers) {
    if (trigger.values.every((v) => typeof v === 'string')) stop.push(trigger.values.join(''))
  }
  return { tokens, stop }
}
