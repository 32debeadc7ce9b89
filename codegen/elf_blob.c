/*
 * elf_blob.c — the weights blob as an ELF relocatable object, and the
 * few lines of C that hand it to the runtime (--embed-weights).
 *
 * A weights blob is gigabytes of bytes that must not go through a C
 * compiler or LLVM as an array initializer.  The linker, however, takes
 * any section of any object file: so lfm2c writes a minimal ELF64
 * relocatable object itself — the blob file, byte for byte, in one
 * allocated read-only section, and two global symbols around it — for
 * x86-64 or aarch64 (the format is the same; only e_machine differs).
 *
 *   ELF header | .lfm2_weights (the blob, at file offset 4096) |
 *   .note.GNU-stack (empty: no executable stack) | .symtab | .strtab |
 *   .shstrtab | section headers
 *
 * The section is aligned to 4096 bytes, so the payload after the blob's
 * 4096-byte header is page aligned in the executable and the runtime
 * uses it in place.  On x86-64 it is a "large" section (.lrodata.*,
 * SHF_X86_64_LARGE), which the GNU linkers place after all other data:
 * a multi-gigabyte blob then never stands between code and the data it
 * addresses with 32-bit offsets.  (On aarch64 the linker script fragment
 * from embed_glue places it after .bss for the same reason.)
 * elf_rodata_write makes the same kind of object for small data (the
 * tokenizer table an --emit lib library carries): an ordinary
 * .rodata.<name> section, which the linker merges into .rodata.
 *
 * The glue, embed.c, is generated too: the runtime's lfm2-run opens its
 * weights with lfm2_weights_open(path, ...); the executable is linked
 * with -Wl,--wrap=lfm2_weights_open, so that call reaches
 * __wrap_lfm2_weights_open here, which serves the default path (weights.bin
 * next to the program) from the linked-in blob via lfm2_weights_from_memory
 * and passes any explicit -m FILE on to the real function.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "fileio.h"
#include "lfm2_abi.h"

enum {
	EM_X86_64 = 62,
	EM_AARCH64 = 183,
	SHT_PROGBITS = 1,
	SHT_SYMTAB = 2,
	SHT_STRTAB = 3,
	SHF_ALLOC = 2,
	SHF_X86_64_LARGE = 0x10000000,
	STB_LOCAL = 0,
	STB_GLOBAL = 1,
	STT_OBJECT = 1,
	STT_SECTION = 3,
	DATA_OFFSET = 4096,
};

typedef struct Buf {
	unsigned char *p;
	size_t n, cap;
} Buf;

static int put(Buf *b, const void *data, size_t n)
{
	if (n == 0)
		return 0;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->n + n)
			cap *= 2;
		unsigned char *q = realloc(b->p, cap);
		if (!q)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	if (data)
		memcpy(b->p + b->n, data, n);
	else
		memset(b->p + b->n, 0, n);
	b->n += n;
	return 0;
}

static int put_u16(Buf *b, uint16_t v)
{
	unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
	return put(b, x, 2);
}

static int put_u32(Buf *b, uint32_t v)
{
	unsigned char x[4];
	for (int i = 0; i < 4; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	return put(b, x, 4);
}

static int put_u64(Buf *b, uint64_t v)
{
	unsigned char x[8];
	for (int i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	return put(b, x, 8);
}

static int align(Buf *b, size_t a) { return put(b, NULL, (a - b->n % a) % a); }

/* Adds s to a string table, returns its offset. */
static uint32_t str(Buf *t, const char *s)
{
	uint32_t off = (uint32_t)t->n;
	return put(t, s, strlen(s) + 1) ? 0 : off;
}

static int symbol(Buf *b, uint32_t name, int bind, int type, uint16_t shndx, uint64_t value, uint64_t size)
{
	unsigned char info = (unsigned char)((bind << 4) | type);
	return put_u32(b, name) || put(b, &info, 1) || put(b, "\0", 1) || put_u16(b, shndx) || put_u64(b, value)
	       || put_u64(b, size);
}

static int section_header(Buf *b, uint32_t name, uint32_t type, uint64_t flags, uint64_t offset, uint64_t size,
                          uint32_t link, uint32_t info, uint64_t addralign, uint64_t entsize)
{
	return put_u32(b, name) || put_u32(b, type) || put_u64(b, flags) || put_u64(b, 0) || put_u64(b, offset)
	       || put_u64(b, size) || put_u32(b, link) || put_u32(b, info) || put_u64(b, addralign)
	       || put_u64(b, entsize);
}

static int copy_stream(FILE *in, FILE *out, uint64_t *n)
{
	static unsigned char buf[1 << 16];
	size_t k;
	*n = 0;
	while ((k = fread(buf, 1, sizeof buf, in)) > 0) {
		int io = lfm_io_fwrite(out, buf, k);
		if (io)
			return io;
		*n += k;
	}
	return ferror(in) ? EIO : 0;
}

/* What differs between the weights' object and a small data object. */
typedef struct ElfData {
	const char *section;
	uint64_t flags, align;
	char begin[256], end[256];   /* the symbols */
} ElfData;

static int elf_data_write(const char *blob_path, const char *obj_path, TargetArch arch, const ElfData *d,
                          LfmError *err)
{
	FILE *in = fopen(blob_path, "rb");
	if (!in)
		return lfm_error(err, blob_path, "cannot open: %s", strerror(errno));
	FILE *out = fopen(obj_path, "wb");
	if (!out) {
		fclose(in);
		return lfm_error(err, obj_path, "cannot create file: %s", strerror(errno));
	}
	int rc = -1;
	Buf head = {0}, tail = {0}, shstr = {0}, strtab = {0}, syms = {0};
	uint64_t size = 0;

	/* the data first: its size goes into the headers */
	int io = fseek(out, DATA_OFFSET, SEEK_SET) ? errno : copy_stream(in, out, &size);
	if (io) {
		lfm_error(err, obj_path, "cannot write: %s", lfm_io_reason(io));
		goto out;
	}
	/* string tables and symbols */
	put(&shstr, "", 1);
	uint32_t n_data = str(&shstr, d->section), n_note = str(&shstr, ".note.GNU-stack"),
	         n_symtab = str(&shstr, ".symtab"), n_strtab = str(&shstr, ".strtab"),
	         n_shstr = str(&shstr, ".shstrtab");
	put(&strtab, "", 1);
	uint32_t s_begin = str(&strtab, d->begin);
	uint32_t s_end = str(&strtab, d->end);
	if (symbol(&syms, 0, STB_LOCAL, 0, 0, 0, 0) || symbol(&syms, 0, STB_LOCAL, STT_SECTION, 1, 0, 0)
	    || symbol(&syms, s_begin, STB_GLOBAL, STT_OBJECT, 1, 0, size)
	    || symbol(&syms, s_end, STB_GLOBAL, STT_OBJECT, 1, size, 0)) {
		lfm_error(err, obj_path, "out of memory");
		goto out;
	}
	/* after the data: .symtab, .strtab, .shstrtab, then the section headers */
	uint64_t base = DATA_OFFSET + size;
	if (put(&tail, NULL, (8 - base % 8) % 8)) {
		lfm_error(err, obj_path, "out of memory");
		goto out;
	}
	uint64_t off_symtab = base + tail.n;
	put(&tail, syms.p, syms.n);
	uint64_t off_strtab = base + tail.n;
	put(&tail, strtab.p, strtab.n);
	uint64_t off_shstr = base + tail.n;
	put(&tail, shstr.p, shstr.n);
	put(&tail, NULL, (8 - (base + tail.n) % 8) % 8);
	uint64_t off_sh = base + tail.n;
	if (section_header(&tail, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	    || section_header(&tail, n_data, SHT_PROGBITS, d->flags, DATA_OFFSET, size, 0, 0, d->align, 0)
	    || section_header(&tail, n_note, SHT_PROGBITS, 0, base, 0, 0, 0, 1, 0)
	    || section_header(&tail, n_symtab, SHT_SYMTAB, 0, off_symtab, syms.n, 4, 2, 8, 24)
	    || section_header(&tail, n_strtab, SHT_STRTAB, 0, off_strtab, strtab.n, 0, 0, 1, 0)
	    || section_header(&tail, n_shstr, SHT_STRTAB, 0, off_shstr, shstr.n, 0, 0, 1, 0)) {
		lfm_error(err, obj_path, "out of memory");
		goto out;
	}
	/* ELF header */
	static const unsigned char ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
	if (put(&head, ident, 16) || put_u16(&head, 1) || put_u16(&head, arch == ARCH_X86_64 ? EM_X86_64 : EM_AARCH64)
	    || put_u32(&head, 1) || put_u64(&head, 0) || put_u64(&head, 0) || put_u64(&head, off_sh)
	    || put_u32(&head, 0) || put_u16(&head, 64) || put_u16(&head, 0) || put_u16(&head, 0)
	    || put_u16(&head, 64) || put_u16(&head, 6) || put_u16(&head, 5) || align(&head, 8)) {
		lfm_error(err, obj_path, "out of memory");
		goto out;
	}
	io = lfm_io_fwrite(out, tail.p, tail.n);
	if (!io)
		io = fseek(out, 0, SEEK_SET) ? errno : lfm_io_fwrite(out, head.p, head.n);
	if (io) {
		lfm_error(err, obj_path, "cannot write: %s", lfm_io_reason(io));
		goto out;
	}
	rc = 0;
out:
	free(head.p);
	free(tail.p);
	free(shstr.p);
	free(strtab.p);
	free(syms.p);
	fclose(in);
	io = lfm_io_fclose(out);
	if (io && !rc)
		rc = lfm_error(err, obj_path, "cannot write: %s", lfm_io_reason(io));
	return rc;
}

int elf_blob_write(const char *blob_path, const char *obj_path, TargetArch arch, const char *symbol_base,
                   LfmError *err)
{
	ElfData d = {arch == ARCH_X86_64 ? ".lrodata.lfm2_weights" : ".lfm2_weights",
	             SHF_ALLOC | (arch == ARCH_X86_64 ? SHF_X86_64_LARGE : 0), 4096, "", ""};
	snprintf(d.begin, sizeof d.begin, "%s_blob", symbol_base);
	snprintf(d.end, sizeof d.end, "%s_blob_end", symbol_base);
	return elf_data_write(blob_path, obj_path, arch, &d, err);
}

int elf_rodata_write(const char *src_path, const char *obj_path, TargetArch arch, const char *symbol,
                     LfmError *err)
{
	char section[300];
	snprintf(section, sizeof section, ".rodata.%s", symbol);
	ElfData d = {section, SHF_ALLOC, 16, "", ""};
	snprintf(d.begin, sizeof d.begin, "%s", symbol);
	snprintf(d.end, sizeof d.end, "%s_end", symbol);
	return elf_data_write(src_path, obj_path, arch, &d, err);
}

int embed_glue_write(const char *c_path, const char *sym, LfmError *err)
{
	FILE *f = fopen(c_path, "w");
	if (!f)
		return lfm_error(err, c_path, "cannot create file: %s", strerror(errno));
	fprintf(f,
	        "/*\n"
	        " * embed.c — generated by lfm2c --embed-weights: serves the weights linked\n"
	        " * into this program (weights.o: the blob file in one section, between\n"
	        " * %s_blob and %s_blob_end) to the runtime.\n"
	        " *\n"
	        " * lfm2-run opens its weights with lfm2_weights_open(path, ...).  The program\n"
	        " * is linked with -Wl,--wrap=lfm2_weights_open, so that call comes here: the\n"
	        " * default path (weights.bin next to the program) is served from memory by\n"
	        " * lfm2_weights_from_memory (same checks, payload used in place); an explicit\n"
	        " * -m FILE goes to the real lfm2_weights_open.\n"
	        " */\n"
	        "#ifndef _GNU_SOURCE\n#define _GNU_SOURCE\n#endif\n"
	        "#include <limits.h>\n#include <string.h>\n#include <unistd.h>\n\n#include \"lfm2rt.h\"\n\n"
	        "extern const unsigned char %s_blob[], %s_blob_end[];\n\n"
	        "/* Read through volatile pointers: 64-bit addresses, whatever the distance\n"
	        " * between this code and the (possibly multi-gigabyte) blob. */\n"
	        "static const unsigned char *volatile blob_begin = %s_blob;\n"
	        "static const unsigned char *volatile blob_end = %s_blob_end;\n\n"
	        "lfm2_weights *__real_lfm2_weights_open(const char *path, const lfm2_model_info *model,\n"
	        "                                       enum lfm2_weights_mode mode, lfm2_err *err);\n"
	        "lfm2_weights *__wrap_lfm2_weights_open(const char *path, const lfm2_model_info *model,\n"
	        "                                       enum lfm2_weights_mode mode, lfm2_err *err);\n\n"
	        "/* weights.bin in the directory of /proc/self/exe (what lfm2-run uses by default) */\n"
	        "static int is_default_path(const char *path)\n{\n"
	        "\tchar exe[PATH_MAX + 16];\n"
	        "\tssize_t n = readlink(\"/proc/self/exe\", exe, PATH_MAX);\n"
	        "\tif (!strcmp(path, \"weights.bin\"))\n\t\treturn 1;\n"
	        "\tif (n <= 0)\n\t\treturn 0;\n"
	        "\texe[n] = 0;\n"
	        "\tchar *slash = strrchr(exe, '/');\n"
	        "\tif (!slash)\n\t\treturn 0;\n"
	        "\tstrcpy(slash + 1, \"weights.bin\");\n"
	        "\treturn !strcmp(path, exe);\n}\n\n"
	        "lfm2_weights *__wrap_lfm2_weights_open(const char *path, const lfm2_model_info *model,\n"
	        "                                       enum lfm2_weights_mode mode, lfm2_err *err)\n{\n"
	        "\tif (path && !is_default_path(path))\n"
	        "\t\treturn __real_lfm2_weights_open(path, model, mode, err);\n"
	        "\treturn lfm2_weights_from_memory(blob_begin, (size_t)(blob_end - blob_begin), \"embedded weights\",\n"
	        "\t                                model, err);\n}\n",
	        sym, sym, sym, sym, sym, sym);
	int io = lfm_io_fclose(f);
	if (io)
		return lfm_error(err, c_path, "cannot write: %s", lfm_io_reason(io));
	return 0;
}
