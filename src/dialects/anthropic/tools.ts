// Anthropic tool definitions → canonical ToolDefinitions. Custom tools pass through; Anthropic's
// client-executed built-in tools (bash, text editor) get their published schemas so Q can call them;
// server tools that only Anthropic can run are dropped with a warning instead of failing the request.

import { MAX_TOOLS, type ToolChoice, type ToolDefinition } from '../conversation';
import { asArray, asObject, invalid, isObject, join, optionalBoolean, optionalString, requiredString, oneOf } from './fields';

const BASH_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    command: { type: 'string', description: 'The bash command to run. Required unless the tool is being restarted.' },
    restart: { type: 'boolean', description: 'Specifying true will restart this tool. Otherwise, leave this unspecified.' },
  },
};

function textEditorSchema(withUndo: boolean): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      command: {
        type: 'string',
        enum: ['view', 'create', 'str_replace', 'insert', ...(withUndo ? ['undo_edit'] : [])],
        description: 'The command to run.',
      },
      path: { type: 'string', description: 'Absolute path to the file or directory.' },
      file_text: { type: 'string', description: 'Required for `create`: the content of the file to be created.' },
      old_str: { type: 'string', description: 'Required for `str_replace`: the exact text to replace (must be unique in the file).' },
      new_str: { type: 'string', description: 'For `str_replace`: the replacement text; for `insert`: the text to insert.' },
      insert_line: { type: 'integer', description: 'Required for `insert`: the text is inserted after this line.' },
      insert_text: { type: 'string', description: 'For `insert`: the text to insert.' },
      view_range: {
        type: 'array',
        items: { type: 'integer' },
        description: 'Optional for `view` of a file: [start, end] line numbers, 1-indexed; -1 as end means to the end.',
      },
    },
    required: ['command', 'path'],
  };
}

/**
 * Built-in tools the *client* executes: Anthropic publishes their schema instead of sending it, so
 * we supply it. Keyed by the `type` prefix before the date suffix.
 */
const CLIENT_TOOLS: Record<string, (type: string) => { description: string; schema: Record<string, unknown> }> = {
  bash: () => ({
    description:
      'Run commands in a bash shell. State is persistent across calls. Use `restart: true` to restart the shell.',
    schema: BASH_SCHEMA,
  }),
  text_editor: (type) => ({
    description:
      'View, create and edit files: `view` shows a file with line numbers or lists a directory, `create` writes a new file, `str_replace` replaces one exact occurrence of `old_str`, `insert` adds text after a line.',
    // undo_edit was removed from the 2025-04-29 version on.
    schema: textEditorSchema(type < 'text_editor_20250429'),
  }),
};

/** Converts `tools`; `warnings` receives one line per tool that could not be offered to Q. */
export function decodeTools(raw: unknown, warnings: string[]): ToolDefinition[] {
  if (raw === undefined || raw === null) return [];
  const out: ToolDefinition[] = [];
  const list = asArray(raw, 'tools');
  if (list.length > MAX_TOOLS) throw invalid('tools', `List should have at most ${MAX_TOOLS} items`);
  list.forEach((item, i) => {
    const param = join('tools', i);
    const tool = asObject(item, param);
    const type = optionalString(tool, 'type', param);
    if (type === undefined || type === 'custom') {
      const name = requiredString(tool, 'name', param);
      if (name === '') throw invalid(join(param, 'name'), 'String should have at least 1 character');
      if (tool.input_schema === undefined || tool.input_schema === null) throw invalid(join(param, 'input_schema'), 'Field required');
      const inputSchema = asObject(tool.input_schema, join(param, 'input_schema'));
      out.push({ name, description: optionalString(tool, 'description', param) ?? '', inputSchema });
      return;
    }
    const name = typeof tool.name === 'string' ? tool.name : type;
    const family = /^([a-z_]+?)_\d{8}$/.exec(type)?.[1];
    const builtin = family ? CLIENT_TOOLS[family] : undefined;
    if (builtin) {
      const { description, schema } = builtin(type);
      out.push({ name, description, inputSchema: schema });
      return;
    }
    warnings.push(`dropped tool "${name}" (${type}): Anthropic server tools cannot run on Amazon Q`);
  });
  return out;
}

/** `tool_choice`; `disable_parallel_tool_use` is accepted and ignored (Q has no such switch). */
export function decodeToolChoice(raw: unknown): ToolChoice {
  if (raw === undefined || raw === null) return { type: 'auto' };
  const choice = asObject(raw, 'tool_choice');
  const type = oneOf(choice, 'type', 'tool_choice', ['auto', 'any', 'tool', 'none'] as const);
  optionalBoolean(choice, 'disable_parallel_tool_use', 'tool_choice');
  if (type === 'tool') return { type, name: requiredString(choice, 'name', 'tool_choice') };
  return { type };
}

/** The text of a server-run tool call or result from an earlier Anthropic turn, so Q keeps the context. */
export function serverToolText(block: Record<string, unknown>): string | undefined {
  const type = String(block.type);
  if (type === 'server_tool_use' || type === 'mcp_tool_use') {
    return `[${type === 'mcp_tool_use' ? 'MCP' : 'server'} tool call ${String(block.name)}: ${JSON.stringify(block.input ?? {})}]`;
  }
  if (type === 'web_search_tool_result') {
    const content = block.content;
    if (!Array.isArray(content)) {
      const code = isObject(content) ? String(content.error_code ?? 'unknown') : 'unknown';
      return `[web search failed: ${code}]`;
    }
    const lines = content
      .filter(isObject)
      .map((r) => `- ${String(r.title ?? '')} ${r.url ? `(${String(r.url)})` : ''}`.trimEnd());
    return `[web search results]\n${lines.join('\n')}`;
  }
  if (type === 'mcp_tool_result') {
    const content = block.content;
    const text = typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content.filter(isObject).map((c) => (typeof c.text === 'string' ? c.text : '')).join('\n')
        : '';
    return `[MCP tool result${block.is_error ? ' (error)' : ''}]\n${text}`;
  }
  return undefined;
}
