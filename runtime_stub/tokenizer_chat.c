/*
 * tokenizer_chat.c — a conversation rendered the way LFM2's chat template
 * does, without a template engine.
 *
 * lfm2c recognizes the checkpoint's Jinja chat template by its hash at
 * compile time (frontend/tokenizer_json.c) and stores which of LFM2's two
 * ChatML template generations it is (lfm2_tokenizer.h describes both).
 * Here each is written out directly: the BOS text, one
 * "<|im_start|>{role}\n{content}<|im_end|>\n" block per message, and the
 * generation prompt; LFM2.5 adds the system block with the tools list and
 * wraps tool responses.
 *
 * The tools list is the one piece of JSON the runtime reads.  The template
 * prints each tool with `tojson`, so a small JSON re-writer validates the
 * caller's array and writes every element as Python's json.dumps would:
 * so the rendered prompt, and with it the token ids, are what the template
 * itself produces.  A malformed list is an error that says what is wrong
 * and at which byte.
 *
 * Rendering needs only the chat style and the BOS text, so
 * lfm2_chat_render() works without a tokenizer; the tokenizer's version
 * takes both from the table.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2_tokenizer.h"
#include "tokenizer_internal.h"

/* ------------------------------------------- the tools JSON re-writer */

/* A JSON re-writer for the tools list: validates a value and writes it the
 * way the template's `tojson` filter prints it (Python json.dumps with
 * ensure_ascii=False: ", " and ": " separators, strings re-escaped with
 * \" \\ \b \f \n \r \t and \u00XX for other control characters, non-ASCII
 * as is).  Numbers are copied as written. */
typedef struct Json {
	const char *p, *end;
	const char *err;
} Json;

static void json_ws(Json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int json_hex4(Json *j, uint32_t *v)
{
	if (j->end - j->p < 4)
		return -1;
	uint32_t x = 0;
	for (int i = 0; i < 4; i++) {
		char c = j->p[i];
		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	j->p += 4;
	*v = x;
	return 0;
}

static void put_utf8(Str *o, uint32_t c)
{
	char b[4];
	size_t n;
	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xC0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xE0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3F));
		b[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | c >> 18);
		b[1] = (char)(0x80 | (c >> 12 & 0x3F));
		b[2] = (char)(0x80 | (c >> 6 & 0x3F));
		b[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	tok_str_put(o, b, n);
}

/* Parses a JSON string (at '"') and appends its decoded text to o. */
static int json_string_text(Json *j, Str *o)
{
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c < 0x20) {
			j->err = "control character inside a string";
			return -1;
		}
		if (c != '\\') {
			tok_str_put(o, j->p++, 1);
			continue;
		}
		if (++j->p >= j->end)
			break;
		char e = *j->p++;
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e && simple) {
			static const char map[] = "\"\\/\b\f\n\r\t";
			tok_str_put(o, &map[simple - "\"\\/bfnrt"], 1);
			continue;
		}
		uint32_t u, lo;
		if (e != 'u' || json_hex4(j, &u)) {
			j->err = "bad escape in a string";
			return -1;
		}
		if (u >= 0xD800 && u <= 0xDBFF) {
			if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') {
				j->err = "lone surrogate escape in a string";
				return -1;
			}
			j->p += 2;
			if (json_hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
				j->err = "lone surrogate escape in a string";
				return -1;
			}
			u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
		} else if (u >= 0xDC00 && u <= 0xDFFF) {
			j->err = "lone surrogate escape in a string";
			return -1;
		}
		put_utf8(o, u);
	}
	j->err = "unterminated string";
	return -1;
}

static void json_quote(Str *o, const char *s, size_t n)
{
	tok_str_put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default: break;
		}
		if (e) {
			tok_str_cat(o, e);
		} else if (c < 0x20) {
			char u[8];
			snprintf(u, sizeof u, "\\u%04x", c);
			tok_str_cat(o, u);
		} else {
			tok_str_put(o, &s[i], 1);
		}
	}
	tok_str_put(o, "\"", 1);
}

static int json_value(Json *j, Str *o, int depth);

static int json_string_value(Json *j, Str *o)
{
	Str text = {0};
	int rc = json_string_text(j, &text);
	if (rc == 0)
		json_quote(o, text.p ? text.p : "", text.n);
	if (text.oom)
		o->oom = true;
	free(text.p);
	return rc;
}

static int json_number(Json *j, Str *o)
{
	const char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		goto bad;
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			goto bad;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			goto bad;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	tok_str_put(o, s, (size_t)(j->p - s));
	return 0;
bad:
	j->err = "malformed number";
	return -1;
}

static int json_container(Json *j, Str *o, int depth, bool object)
{
	char close = object ? '}' : ']';
	tok_str_put(o, object ? "{" : "[", 1);
	j->p++;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		tok_str_put(o, &close, 1);
		return 0;
	}
	for (bool first = true;; first = false) {
		if (!first)
			tok_str_cat(o, ", ");
		json_ws(j);
		if (object) {
			if (j->p >= j->end || *j->p != '"') {
				j->err = "expected a key string";
				return -1;
			}
			if (json_string_value(j, o))
				return -1;
			json_ws(j);
			if (j->p >= j->end || *j->p != ':') {
				j->err = "expected ':'";
				return -1;
			}
			j->p++;
			tok_str_cat(o, ": ");
		}
		if (json_value(j, o, depth + 1))
			return -1;
		json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			tok_str_put(o, &close, 1);
			return 0;
		}
		j->err = object ? "expected ',' or '}'" : "expected ',' or ']'";
		return -1;
	}
}

static int json_value(Json *j, Str *o, int depth)
{
	if (depth > 64) {
		j->err = "nested too deeply";
		return -1;
	}
	json_ws(j);
	if (j->p >= j->end) {
		j->err = "unexpected end";
		return -1;
	}
	char c = *j->p;
	if (c == '{' || c == '[')
		return json_container(j, o, depth, c == '{');
	if (c == '"')
		return json_string_value(j, o);
	if (c == '-' || (c >= '0' && c <= '9'))
		return json_number(j, o);
	static const char *lits[] = {"true", "false", "null"};
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(lits[i]);
		if ((size_t)(j->end - j->p) >= n && memcmp(j->p, lits[i], n) == 0) {
			tok_str_put(o, j->p, n);
			j->p += n;
			return 0;
		}
	}
	j->err = "unexpected character";
	return -1;
}

/* Appends the template's rendering of the tools list ("t1, t2") to o;
 * *any = false when tools_json is NULL, null or [].  */
static int render_tools(const char *tools_json, Str *o, bool *any, char *err, size_t errlen)
{
	*any = false;
	if (!tools_json)
		return 0;
	Json j = {tools_json, tools_json + strlen(tools_json), NULL};
	json_ws(&j);
	if ((size_t)(j.end - j.p) >= 4 && memcmp(j.p, "null", 4) == 0) {
		j.p += 4;
		json_ws(&j);
		if (j.p == j.end)
			return 0;
		j.err = "trailing data";
		goto bad;
	}
	if (j.p >= j.end || *j.p != '[') {
		j.err = "tools must be a JSON array";
		goto bad;
	}
	j.p++;
	json_ws(&j);
	if (j.p < j.end && *j.p == ']') {
		j.p++;
	} else {
		for (bool first = true;; first = false) {
			if (!first)
				tok_str_cat(o, ", ");
			json_ws(&j);
			int rc = (j.p < j.end && *j.p == '"') ? json_string_text(&j, o) : json_value(&j, o, 1);
			if (rc)
				goto bad;
			*any = true;
			json_ws(&j);
			if (j.p < j.end && *j.p == ',') {
				j.p++;
				continue;
			}
			if (j.p < j.end && *j.p == ']') {
				j.p++;
				break;
			}
			j.err = "expected ',' or ']'";
			goto bad;
		}
	}
	json_ws(&j);
	if (j.p != j.end) {
		j.err = "trailing data";
		goto bad;
	}
	return 0;
bad:
	tok_set_err(err, errlen, "chat: tools JSON: %s at byte %zu", j.err, (size_t)(j.p - tools_json));
	return -1;
}

/* ------------------------------------------------------ the templates */

/* One message block: "<|im_start|>{role}\n{content}<|im_end|>\n", the
 * content wrapped as a tool response when tool_wrap. */
static void render_turn(Str *o, const char *role, const char *content, bool tool_wrap)
{
	tok_str_cat(o, "<|im_start|>");
	tok_str_cat(o, role);
	tok_str_cat(o, "\n");
	if (tool_wrap)
		tok_str_cat(o, "<|tool_response_start|>");
	tok_str_cat(o, content);
	if (tool_wrap)
		tok_str_cat(o, "<|tool_response_end|>");
	tok_str_cat(o, "<|im_end|>\n");
}

/* LFM2.5's system block: a leading system message (taken out of the
 * conversation: *first = 1) extended by the tools list, written only when
 * that text is non-empty.  -1 (err set) for a bad tools list. */
static int render_lfm25_system(const lfm2_chat_message *msgs, size_t n_msgs, const char *tools_json, Str *o,
                               size_t *first, char *err, size_t errlen)
{
	Str sys = {0};
	tok_str_put(&sys, "", 0);
	if (n_msgs > 0 && strcmp(msgs[0].role, "system") == 0) {
		tok_str_cat(&sys, msgs[0].content);
		*first = 1;
	}
	Str tools = {0};
	bool any;
	if (render_tools(tools_json, &tools, &any, err, errlen)) {
		free(sys.p);
		free(tools.p);
		return -1;
	}
	if (any) {
		if (sys.n)
			tok_str_cat(&sys, "\n");
		tok_str_cat(&sys, "List of tools: <|tool_list_start|>[");
		tok_str_put(&sys, tools.p, tools.n);
		tok_str_cat(&sys, "]<|tool_list_end|>");
	}
	if (sys.n)
		render_turn(o, "system", sys.p, false);
	if (sys.oom || tools.oom)
		o->oom = true;
	free(sys.p);
	free(tools.p);
	return 0;
}

int lfm2_chat_render(lfm2_chat_style style, const char *bos_text, const lfm2_chat_message *msgs,
                     size_t n_msgs, const char *tools_json, int add_generation_prompt, char **out,
                     size_t *len, char *err, size_t errlen)
{
	*out = NULL;
	*len = 0;
	if (style != LFM2_CHAT_CHATML && style != LFM2_CHAT_LFM25) {
		tok_set_err(err, errlen, "chat: the model has no chat template lfm2c knows");
		return -1;
	}
	for (size_t i = 0; i < n_msgs; i++)
		if (!msgs[i].role || !msgs[i].content) {
			tok_set_err(err, errlen, "chat: message %zu has no role or content", i);
			return -1;
		}
	Str o = {0};
	tok_str_put(&o, "", 0);
	if (bos_text)
		tok_str_cat(&o, bos_text);
	size_t first = 0;
	if (style == LFM2_CHAT_LFM25 && render_lfm25_system(msgs, n_msgs, tools_json, &o, &first, err, errlen)) {
		free(o.p);
		return -1;
	}
	for (size_t i = first; i < n_msgs; i++)
		render_turn(&o, msgs[i].role, msgs[i].content,
		            style == LFM2_CHAT_LFM25 && strcmp(msgs[i].role, "tool") == 0);
	if (add_generation_prompt)
		tok_str_cat(&o, "<|im_start|>assistant\n");
	if (o.oom) {
		free(o.p);
		tok_set_err(err, errlen, "chat: out of memory");
		return -1;
	}
	*out = o.p;
	*len = o.n;
	return 0;
}

int lfm2_tokenizer_chat_render(const lfm2_tokenizer *t, const lfm2_chat_message *msgs, size_t n_msgs,
                               const char *tools_json, int add_generation_prompt, char **out, size_t *len,
                               char *err, size_t errlen)
{
	Str bos = {0};
	if (t->bos >= 0) {
		size_t n;
		const uint8_t *p = piece_of(t, (uint32_t)t->bos, &n);
		tok_str_put(&bos, p, n);
		if (bos.oom) {
			tok_set_err(err, errlen, "chat: out of memory");
			return -1;
		}
	}
	int rc = lfm2_chat_render(t->chat_style, bos.p, msgs, n_msgs, tools_json, add_generation_prompt, out,
	                          len, err, errlen);
	free(bos.p);
	return rc;
}
