// gen_expected.mjs — regenerates tests/tokenizer/expected/ with independent
// JavaScript implementations: @huggingface/tokenizers (tokenizers.js, a pure
// JS port of Hugging Face tokenizers that translates the Oniguruma regex to a
// JS RegExp) and @huggingface/jinja (chat templates).  The C tests read only
// the committed files; node is needed only to regenerate them:
//
//   cd tests/tokenizer && npm install && node gen_expected.mjs [SHARED_DIR]
//
// SHARED_DIR (default /work/shared/lfm2) holds chat_templates/ with LiquidAI's
// LFM2-1.2B and LFM2.5-1.2B-Base templates; the test tokenizers are in data/.
//
// Output (all UTF-8 strings as lowercase hex, so any byte survives):
//   corpus.txt        one test string per line (>= 2000: prose, contractions,
//                     digits, white space, CJK, emoji, combining marks,
//                     special-token text, random mixes, long strings)
//   enc_<tok>.txt     ids of each corpus line, add_special_tokens=true
//                     (b_nomerge: tok-b with ignore_merges=false)
//   dec_<tok>.txt     random id sequences: "ids<TAB>decode<TAB>decode skipping
//                     special tokens" (clean_up_tokenization_spaces=false)
//   invalid.txt       ill-formed UTF-8: "bytes<TAB>TextDecoder text<TAB>ends of
//                     the JS pre-tokens of that text (byte offsets)"
//   chat.json         conversations, their renderings by each template and the
//                     ids of each rendering (add_special_tokens=false)
//   uclass.txt        "first last class" runs of \p{L} (1), \p{N} (2),
//                     \p{White_Space} (3) per this node's Unicode tables
//
// The one deliberate difference between lfm2c and tokenizers.js is kept out of
// the corpus: Oniguruma (the Rust tokenizers' engine) folds case with full
// Unicode data, so (?i:'s) also matches "'ſ" (U+017F); tokenizers.js folds
// ASCII only.  test_tokenizer covers that case on its own.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHARED = process.argv[2] ?? "/work/shared/lfm2";
const OUT = path.join(HERE, "expected");
fs.mkdirSync(OUT, { recursive: true });

const TOKENIZERS = {
	tiny: path.join(HERE, "data", "tiny"),
	b: path.join(HERE, "data", "tok-b"),
};

// ------------------------------------------------------------ helpers
function mulberry32(seed) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
const rng = mulberry32(20250704);
const randint = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = (a) => a[Math.floor(rng() * a.length)];
const hex = (s) => Buffer.from(s, "utf8").toString("hex");
const hexBytes = (u8) => Buffer.from(u8).toString("hex");
const cp = (c) => String.fromCodePoint(c);

function loadTokenizer(dir, edit = (j) => j) {
	const json = edit(JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")));
	const cfg = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
	return new Tokenizer(json, cfg);
}

// ------------------------------------------------------------ corpus
const WORDS = (
	"the of and to in is that for it as with was on be by this are or not from at which " +
	"program software license free copy modify distribute terms conditions GNU General Public " +
	"version warranty FITNESS PARTICULAR PURPOSE Foundation source code object library user " +
	"Debian package README changelog function return value error file directory Python " +
	"Mathias python supercalifragilistic antidisestablishment zzqx HTTP URL API JSON"
).split(" ");
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'rE",
	"'VE", "'vE", "'M", "'LL", "'lL", "'D", "n't", "N'T", "'", "''", "'x", "'ss", "'tt", "'ree", "'lll"];
const SPECIAL = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>",
	"<|tool_list_start|>", "<|tool_call_end|>", "<|tool_response_start|>", "<|x|>", "<|x|>long",
	"<think>", "Mathias", "python", "日本語", "<|im_start", "im_end|>", "<|", "|>", "<|x|", "<|x|>lon"];
const SPACES = [" ", "  ", "\t", "\n", "\r", "\r\n", "\n\n", " \n", "\n ", "\u00a0", "\u3000",
	"\u2028", "\u2029", "\u000b", "\u000c", "\u0085", "\u1680", "\u2003", "\u202f", "\u205f", "\ufeff"];
const DIGITS = ["0", "7", "42", "123", "1234", "12345", "999999999", "3.14159", "1,000,000",
	"٣٤٥", "１２３４", "²³", "Ⅻ", "½", "४२", "0x1F", "v1.2.3", "2025-07-04"];
const SCRIPTS = {
	latin1: [0xc0, 0xff], latinA: [0x100, 0x17e], greek: [0x391, 0x3c9], cyrillic: [0x410, 0x44f],
	hebrew: [0x5d0, 0x5ea], arabic: [0x621, 0x64a], devanagari: [0x905, 0x939], thai: [0xe01, 0xe2e],
	hiragana: [0x3041, 0x3093], katakana: [0x30a1, 0x30f6], cjk: [0x4e00, 0x62ff], hangul: [0xac00, 0xd7a3],
	emoji: [0x1f300, 0x1f64f], symbols: [0x2190, 0x21ff], math: [0x2200, 0x22ff], box: [0x2500, 0x257f],
	punct: [0x2010, 0x2027], combining: [0x300, 0x36f], fullwidth: [0xff01, 0xff5e],
};
const SAMPLES = ["naïve café über", "日本語のテキスト", "中文文本测试", "한국어 텍스트", "Ελληνικά κείμενα",
	"русский текст", "עברית", "العربية", "हिन्दी पाठ", "ไทย", "e\u0301 a\u0308 n\u0303", "Z\u0351\u0317a\u035c\u0348l",
	"👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "👍🏽", "🏳️‍🌈", "❤️", "🙂 😀 🚀", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠜎𠜱𠝹", "ﬁ ﬂ", "Kelvin K Å",
	"ǅungla", "İstanbul ı", "straße STRASSE", "\u200b\u200c\u200d", "a\u00adb", "\u0000\u0001\u007f"];

function randomScriptText() {
	const [lo, hi] = SCRIPTS[pick(Object.keys(SCRIPTS))];
	let s = "";
	for (let i = randint(1, 8); i > 0; i--) s += cp(randint(lo, hi));
	return s;
}

function randomPiece() {
	switch (randint(0, 9)) {
		case 0: case 1: return pick(WORDS);
		case 2: return pick(CONTRACTIONS);
		case 3: return pick(SPACES);
		case 4: return pick(DIGITS);
		case 5: return randomScriptText();
		case 6: return pick(SAMPLES);
		case 7: return pick(SPECIAL);
		case 8: return pick(["!", "?", ".", ",", ";", ":", "(", ")", "\"", "#", "**", "--", "...", "/*", "*/", "{}", "[]", "<", ">", "|", "&&", "\\"]);
		default: return pick(WORDS).toUpperCase();
	}
}

function joined(n, sepChoices) {
	let s = "";
	for (let i = 0; i < n; i++) s += (i ? pick(sepChoices) : "") + randomPiece();
	return s;
}

function buildCorpus() {
	const out = new Set();
	const add = (s) => {
		if (/'ſ/u.test(s)) s = s.replace(/'ſ/gu, "'s");  // the documented Oniguruma/JS difference
		out.add(s);
	};
	// fixed cases
	["", " ", "a", "This program is free software", "Hello, world!", "The GNU General Public License, version 3.",
		"  leading spaces and\ttabs\n\nnew lines\r\n", "def f(x):\n    return x ** 2  # square\n",
		"Numbers 1234567 and 3.14159", "I'm sure they'll say it's fine; we've DONE it.",
		"naïve café über 日本語 🙂", "<|im_start|>user\nWhat is the GPL?<|im_end|>\n<|im_start|>assistant\n",
		"<|x|>longer", "<|x|>lon", "<<|im_end|>>", "<|im_start|><|im_end|>", "Mathias python 日本語",
		"the supercalifragilistic word", " antidisestablishment", "zzqx", " 日本語テスト", "x<think>y",
		"don't DON'T Don'T we'Ve THEY'LL she'S I'M it'D you'RE", "'s's's", "''s", "' s", "'", "'sa", "'lla",
		"a  b", "a   b", "a \n b", "a\n\n\nb", "\n", "\r\n\r\n", "   ", "\t\t", "a ", "a  ", " \u00a0 x", "x\u0085y",
		"\ufeffBOM", "1234567890123", "abc123def", "12345678901234567890 0.5",
	].forEach(add);
	for (const c of CONTRACTIONS) for (const ctx of [["it", ""], ["IT", " x"], ["", "s"], [" ", "."]]) add(ctx[0] + c + ctx[1]);
	for (const d of DIGITS) { add(d); add("x" + d + "y"); add(" " + d); }
	for (const w of SPACES) for (const v of SPACES) add("a" + w + v + "b");
	for (const w of SPACES) { add(w); add(w + w + w); add("x" + w); add(w + "x"); }
	for (const s of SAMPLES) { add(s); add(" " + s); add(s + "\n"); }
	for (const s of SPECIAL) { add(s); add("a" + s + "b"); add(" " + s + " "); add(s + s); }
	for (const k of Object.keys(SCRIPTS)) for (let i = 0; i < 12; i++) add(randomScriptText() + pick([" ", "", "\n"]) + randomScriptText());
	// random mixes
	while (out.size < 1900) add(joined(randint(1, 14), ["", " ", " ", " ", "\n", "  "]));
	// prose-like sentences
	while (out.size < 2150) {
		let s = "";
		for (let i = randint(3, 20); i > 0; i--) s += pick(WORDS) + (rng() < 0.1 ? pick([",", ".", ";"]) : "") + " ";
		add(s.trim() + pick([".", "!", "?", "\n", ""]));
	}
	// long ones
	add(" ".repeat(1000) + "x");
	add("x" + " ".repeat(999));
	add("\n".repeat(300) + " \n".repeat(200));
	add("a".repeat(3000));
	add("9".repeat(1001));
	add("日本".repeat(800));
	add("🙂".repeat(500));
	add(joined(600, [" ", "", "\n"]));
	add(("The quick brown fox jumps over the lazy dog. ").repeat(60));
	return [...out];
}

// ------------------------------------------------------------ invalid UTF-8
function invalidCases() {
	const cases = [
		[0xff], [0x80], [0xc0, 0xaf], [0xe6, 0x97], [0xe6, 0x97, 0x41], [0xf0, 0x9f, 0x99], [0xf0, 0x9f, 0x99, 0x41, 0x42],
		[0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3], [0x41, 0xc3], [0xe0, 0x80, 0xaf], [0xfe, 0xfe, 0x20, 0x61],
		[0x27, 0xff, 0x73], [0x20, 0xff, 0x61, 0x62], [0xff, 0x61, 0x62], [0x31, 0x32, 0xff, 0x33], [0x0a, 0xff, 0x0a],
	];
	for (let i = 0; i < 200; i++) {
		const valid = Buffer.from(joined(randint(1, 6), ["", " "]), "utf8");
		const bytes = [...valid];
		for (let k = randint(1, 3); k > 0; k--) {
			const at = randint(0, bytes.length);
			const bad = pick([[0xff], [0x80], [0xc3], [0xe6, 0x97], [0xf0, 0x9f], [0xed, 0xa0, 0x80], [0xc0, 0x80], [randint(0x80, 0xff)]]);
			bytes.splice(at, 0, ...bad);
		}
		cases.push(bytes);
	}
	return cases.map((b) => Uint8Array.from(b));
}

// ------------------------------------------------------------ chat cases
const WEATHER_TOOL = `{"type": "function", "function": {"name": "get_weather",
  "description": "Current weather in a city. Says \\"hot\\" or \\"cold\\"\\\\n; path C:\\\\tmp \\/ caf\\u00e9 \\ud83d\\ude00",
  "parameters": {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Zürich"]},
  "days": {"type": "integer", "minimum": 1, "maximum": -7, "weights": [0.5, 2, 1000, -0.25]}},
  "required": ["city"], "additionalProperties": false, "x": null, "ctl": "\\u0001\\t"}}}`;
const SEARCH_TOOL = `{ "name" : "search" , "parameters" : { } , "list" : [ ] , "nested" : [[1,[2,{}]],{"a":[true,false]}] }`;
const CHAT_CASES = [
	{ name: "one_user", messages: [["user", "What is the capital of France?"]], gen: true },
	{ name: "one_user_nogen", messages: [["user", "Hi"]], gen: false },
	{ name: "system_user", messages: [["system", "You are a helpful assistant."], ["user", "Hello!"]], gen: true },
	{ name: "multi_turn", messages: [["system", "Be brief."], ["user", "2+2?"], ["assistant", "4"], ["user", "And 3+3?"]], gen: true },
	{ name: "multi_turn_end_assistant", messages: [["user", "Say hi"], ["assistant", "hi"]], gen: false },
	{ name: "empty_system", messages: [["system", ""], ["user", "x"]], gen: true },
	{ name: "system_later", messages: [["user", "first"], ["system", "late system"], ["user", "second"]], gen: true },
	{ name: "unicode", messages: [["user", "naïve café 日本語 🙂\n\nline two\r\n\ttab"], ["assistant", "<|im_end|> inside 'quotes' \"dq\""]], gen: true },
	{ name: "tools_with_system", messages: [["system", "You can call tools."], ["user", "Weather in Paris?"],
		["assistant", "<|tool_call_start|>[get_weather(city=\"Paris\")]<|tool_call_end|>"], ["tool", "{\"temp_c\": 21, \"sky\": \"clear\"}"],
		["assistant", "It is 21 °C and clear."]], tools: `[${WEATHER_TOOL}, ${SEARCH_TOOL}]`, gen: true },
	{ name: "tools_no_system", messages: [["user", "Find cats"]], tools: `[ ${SEARCH_TOOL} ]`, gen: true },
	{ name: "tools_empty_system", messages: [["system", ""], ["user", "Find cats"]], tools: `[${SEARCH_TOOL}]`, gen: false },
	{ name: "tools_strings", messages: [["user", "go"]], tools: `["def f(x: int) -> int: ...", "{\\"raw\\": \\"json text\\"}", ${SEARCH_TOOL}]`, gen: true },
	{ name: "tools_empty_list", messages: [["system", "sys"], ["user", "u"]], tools: "[]", gen: true },
	{ name: "tool_role_no_tools", messages: [["user", "q"], ["tool", "result text"]], gen: true },
];

function renderChats(templates, toks) {
	const out = [];
	for (const c of CHAT_CASES) {
		const messages = c.messages.map(([role, content]) => ({ role, content }));
		const ctx = { messages, bos_token: "<|startoftext|>", add_generation_prompt: c.gen, eos_token: "<|im_end|>" };
		if (c.tools !== undefined) ctx.tools = JSON.parse(c.tools);
		const rendered = {};
		const ids = {};
		for (const [tname, src] of Object.entries(templates)) {
			const text = new Template(src).render(ctx);
			rendered[tname] = text;
			ids[tname] = {};
			for (const [k, tok] of Object.entries(toks)) ids[tname][k] = tok.encode(text, { add_special_tokens: false }).ids;
		}
		out.push({ name: c.name, messages: c.messages.map(([role, content]) => ({ role, content })),
			tools: c.tools ?? null, add_generation_prompt: c.gen, rendered, ids });
	}
	return out;
}

// ------------------------------------------------------------ Unicode classes
function unicodeRuns() {
	const L = /\p{L}/u, N = /\p{N}/u, S = /\p{White_Space}/u;
	const lines = [];
	let start = 0, prev = -1;
	for (let c = 0; c <= 0x110000; c++) {
		let k = -1;
		if (c <= 0x10ffff) {
			const ch = String.fromCodePoint(c);
			k = L.test(ch) ? 1 : N.test(ch) ? 2 : S.test(ch) ? 3 : 0;
		}
		if (k !== prev) {
			if (prev > 0) lines.push(`${start.toString(16)} ${(c - 1).toString(16)} ${prev}`);
			start = c;
			prev = k;
		}
	}
	return lines;
}

// ------------------------------------------------------------ main
function main() {
	const toks = Object.fromEntries(Object.entries(TOKENIZERS).map(([k, d]) => [k, loadTokenizer(d)]));
	const nomerge = loadTokenizer(TOKENIZERS.b, (j) => { j.model.ignore_merges = false; return j; });
	const corpus = buildCorpus();
	const head = (what) => `# ${what} -- generated by gen_expected.mjs (@huggingface/tokenizers ${pkgVersion("tokenizers")}), do not edit\n`;
	fs.writeFileSync(path.join(OUT, "corpus.txt"), head("test strings, UTF-8 hex, one per line") + corpus.map(hex).join("\n") + "\n");
	for (const [name, tok] of Object.entries({ ...toks, b_nomerge: nomerge })) {
		const lines = [];
		let roundTripFailures = 0;
		for (const s of corpus) {
			const ids = tok.encode(s, { add_special_tokens: true }).ids;
			lines.push(ids.join(","));
			const back = tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
			if (back !== "<|startoftext|>" + s) roundTripFailures++;
		}
		if (roundTripFailures) throw new Error(`${name}: JS decode(encode(s)) != s for ${roundTripFailures} strings`);
		fs.writeFileSync(path.join(OUT, `enc_${name}.txt`), head(`ids of corpus.txt lines for ${name}`) + lines.join("\n") + "\n");
		if (!(name in toks)) continue;   // decoding does not depend on the merges
		// random id sequences for decode
		const n = tok.model.vocab.length;
		const dec = [];
		for (let i = 0; i < 400; i++) {
			const ids = [];
			for (let k = randint(1, 24); k > 0; k--) ids.push(rng() < 0.1 ? randint(0, 20) : randint(0, n - 1));
			const a = tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
			const b = tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
			dec.push(`${ids.join(",")}\t${hex(a)}\t${hex(b)}`);
		}
		fs.writeFileSync(path.join(OUT, `dec_${name}.txt`), head(`ids<TAB>decode<TAB>decode skip_special for ${name}`) + dec.join("\n") + "\n");
		console.log(`${name}: ${corpus.length} strings, ${dec.length} decode cases`);
	}
	// invalid UTF-8: what a lossy decoder makes of the bytes, and how the
	// split regex cuts that text (tokenizers.js pre-tokenizer output, mapped
	// back from ByteLevel characters to byte offsets)
	const td = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
	const pre = toks.tiny.pre_tokenizer;
	const u2b = new Map();
	{
		const bs = [];
		for (let b = 33; b <= 126; b++) bs.push(b);
		for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
		for (let b = 0xae; b <= 0xff; b++) bs.push(b);
		const cs = bs.slice();
		let m = 0;
		for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + m++); }
		bs.forEach((b, i) => u2b.set(String.fromCodePoint(cs[i]), b));
	}
	const inv = invalidCases().map((bytes) => {
		const text = td.decode(bytes);
		let end = 0;
		const ends = pre(text).map((p) => (end += [...p].length));  // ByteLevel chars = bytes
		for (const p of pre(text)) for (const ch of p) if (!u2b.has(ch)) throw new Error("not ByteLevel");
		return `${hexBytes(bytes)}\t${hex(text)}\t${ends.join(",")}`;
	});
	fs.writeFileSync(path.join(OUT, "invalid.txt"), head("bytes<TAB>TextDecoder(bytes)<TAB>JS pre-token ends of that text") + inv.join("\n") + "\n");
	// chat
	const templates = {
		tiny: fs.readFileSync(path.join(HERE, "data", "tiny", "chat_template.jinja"), "utf8"),
		"LFM2-1.2B": fs.readFileSync(path.join(SHARED, "chat_templates", "LFM2-1.2B", "chat_template.jinja"), "utf8"),
		"LFM2.5-1.2B-Base": fs.readFileSync(path.join(SHARED, "chat_templates", "LFM2.5-1.2B-Base", "chat_template.jinja"), "utf8"),
	};
	const chats = renderChats(templates, toks);
	fs.writeFileSync(path.join(OUT, "chat.json"), JSON.stringify({
		note: `rendered by @huggingface/jinja ${pkgVersion("jinja")} with bos_token "<|startoftext|>"; ids: tokenizers.js, add_special_tokens=false`,
		cases: chats }, null, 1) + "\n");
	console.log(`chat: ${chats.length} conversations x ${Object.keys(templates).length} templates`);
	const runs = unicodeRuns();
	fs.writeFileSync(path.join(OUT, "uclass.txt"), head(`hex first, hex last, class (1 L, 2 N, 3 White_Space); node ${process.versions.node}, Unicode ${process.versions.unicode}`) + runs.join("\n") + "\n");
	console.log(`uclass: ${runs.length} runs (Unicode ${process.versions.unicode})`);
}

function pkgVersion(name) {
	return JSON.parse(fs.readFileSync(path.join(HERE, "node_modules", "@huggingface", name, "package.json"), "utf8")).version;
}

main();
