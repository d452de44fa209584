// SPDX-License-Identifier: MIT
/*
 * --why GLOB (tracer.h): each access to a path that matches GLOB is told
 * on stderr, with the process that made it and the process's own stack at
 * that moment, unwound from outside with libunwind-ptrace. The thread is
 * in a seccomp stop when why_access() runs, so ptrace may read it.
 *
 *   ptvfs: why /etc/the.conf: read by 4711 why_opener (/tmp/why_opener)
 *       #0  0x00007f2e4a31c5fd  open64+0x13d  (libc.so.6)
 *       #1  0x0000563a0e1a51b9  open_the_config+0x19  (why_opener)
 *       #2  0x0000563a0e1a5090  main+0x20  (why_opener)
 *
 * GLOB is matched with fnmatch() against the whole view path, without
 * FNM_PATHNAME: `*` and `?` match `/` too, so '*.h' is every header
 * wherever it is. A GLOB with no `/` is matched against the file name as
 * well: 'stdio.h' finds /usr/include/stdio.h.
 *
 * One libunwind address space lives for the run; its cache of unwind
 * information is by address, so it is flushed whenever the program being
 * unwound is another one than last time. Each unwinding gets a fresh
 * ptrace context (_UPT) for its thread.
 *
 * Static programs: libunwind-ptrace finds a program's unwind table through
 * its PT_GNU_EH_FRAME header, which GCC does not ask the linker for when
 * it links statically. For an object without one, ptvfs reads its
 * .eh_frame, builds the sorted table itself (what the linker would have
 * written) and lends it to libunwind at an address in the kernel's half,
 * which no process can map: the address space's memory accessor answers
 * reads there from the table, and everything else from the tracee.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "tracer.h"

#define WHY_FRAMES 16
/* Where the tables built from .eh_frame are lent to libunwind: never a user address. */
#define TABLE_SPACE 0xffff900000000000UL

/* Pointer encodings of .eh_frame (the LSB's EH_PE_*): the value's format, then what it is
 * relative to. */
enum {
	EH_PE_absptr = 0x00,
	EH_PE_uleb128 = 0x01,
	EH_PE_udata2 = 0x02,
	EH_PE_udata4 = 0x03,
	EH_PE_udata8 = 0x04,
	EH_PE_sleb128 = 0x09,
	EH_PE_sdata2 = 0x0a,
	EH_PE_sdata4 = 0x0b,
	EH_PE_sdata8 = 0x0c,
	EH_PE_pcrel = 0x10,
	EH_PE_indirect = 0x80,
	EH_PE_omit = 0xff,
};

/* libunwind's own search of a sorted unwind table (exported, used by libunwind-ptrace). */
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)
extern int dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
				     unw_proc_info_t *pi, int need_unwind_info, void *arg);

/* One mapping of /proc/PID/maps that names a file. */
struct mapping {
	unsigned long start, end, offset;
	char *file;
};

struct maps {
	struct mapping *m;
	size_t n, cap;
};

/* An unwind table built from an object's .eh_frame (count 0: the object has none). */
struct eh_table {
	unw_word_t start_ip, end_ip; /* the executable segment, as loaded */
	unw_word_t segbase;	     /* .eh_frame, as loaded: entries are relative to it */
	int32_t *entries;	     /* pairs (start_ip, fde) - segbase, sorted by start_ip */
	size_t count;
	unw_word_t lent_at; /* where libunwind reads ENTRIES */
};

struct why {
	const char *glob; /* owned by the options */
	bool name_too;	  /* GLOB has no '/': matched against the file name as well */
	unw_addr_space_t as;
	unw_accessors_t accessors;
	const struct report_process *cached; /* whose unwind information the caches hold */
	struct maps maps;		     /* of the thread being unwound */
	struct eh_table *tables;	     /* of CACHED's objects without PT_GNU_EH_FRAME */
	size_t ntables;
	unw_word_t next_lent;
};

/* The accessors get the _UPT context as their argument: the state of --why is here. */
static struct why *unwinding;

static void maps_free(struct maps *maps)
{
	for (size_t i = 0; i < maps->n; i++)
		free(maps->m[i].file);
	free(maps->m);
	*maps = (struct maps){0};
}

static void maps_read(pid_t tid, struct maps *maps)
{
	size_t len;
	autofree char *text = proc_read_file(tid, "maps", &len);
	char *line, *save = NULL;

	if (!text)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long start, end, offset;
		int file_at = 0;

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &start, &end, &offset, &file_at) <
			3 ||
		    !file_at || line[file_at] != '/')
			continue;
		if (maps->n == maps->cap) {
			maps->cap = maps->cap ? 2 * maps->cap : 64;
			maps->m = xrealloc(maps->m, maps->cap * sizeof(*maps->m));
		}
		maps->m[maps->n++] = (struct mapping){start, end, offset, xstrdup(line + file_at)};
	}
}

static const struct mapping *mapping_at(const struct maps *maps, unsigned long addr)
{
	for (size_t i = 0; i < maps->n; i++)
		if (addr >= maps->m[i].start && addr < maps->m[i].end)
			return &maps->m[i];
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void tables_free(struct why *w)
{
	for (size_t i = 0; i < w->ntables; i++)
		free(w->tables[i].entries);
	free(w->tables);
	w->tables = NULL;
	w->ntables = 0;
	w->next_lent = TABLE_SPACE;
}

/* A cursor over .eh_frame's bytes, as loaded at ADDR. */
struct eh_reader {
	const unsigned char *buf;
	size_t size;
	unw_word_t addr;
};

static bool read_bytes(const struct eh_reader *r, size_t *pos, void *out, size_t n)
{
	if (*pos > r->size || n > r->size - *pos)
		return false;
	memcpy(out, r->buf + *pos, n);
	*pos += n;
	return true;
}

static bool read_leb(const struct eh_reader *r, size_t *pos, bool is_signed, int64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	unsigned char b;

	do {
		if (*pos >= r->size || shift > 63)
			return false;
		b = r->buf[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (is_signed && shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	*out = (int64_t)v;
	return true;
}

/* A pointer encoded as ENC (EH_PE_*) at *POS: absolute, or relative to where it is. */
static bool read_pointer(const struct eh_reader *r, size_t *pos, unsigned char enc, unw_word_t *out)
{
	unw_word_t at = r->addr + *pos;
	int64_t v;

	if (enc & EH_PE_indirect)
		return false;
	switch (enc & 0x0f) {
	case EH_PE_absptr:
	case EH_PE_udata8:
	case EH_PE_sdata8: {
		uint64_t u;

		if (!read_bytes(r, pos, &u, 8))
			return false;
		v = (int64_t)u;
		break;
	}
	case EH_PE_udata4: {
		uint32_t u;

		if (!read_bytes(r, pos, &u, 4))
			return false;
		v = u;
		break;
	}
	case EH_PE_sdata4: {
		int32_t s;

		if (!read_bytes(r, pos, &s, 4))
			return false;
		v = s;
		break;
	}
	case EH_PE_udata2: {
		uint16_t u;

		if (!read_bytes(r, pos, &u, 2))
			return false;
		v = u;
		break;
	}
	case EH_PE_sdata2: {
		int16_t s;

		if (!read_bytes(r, pos, &s, 2))
			return false;
		v = s;
		break;
	}
	case EH_PE_uleb128:
	case EH_PE_sleb128:
		if (!read_leb(r, pos, (enc & 0x0f) == EH_PE_sleb128, &v))
			return false;
		break;
	default:
		return false;
	}
	switch (enc & 0x70) {
	case EH_PE_absptr:
		break;
	case EH_PE_pcrel:
		v += (int64_t)at;
		break;
	default:
		return false; /* not used for code addresses on x86_64 */
	}
	*out = (unw_word_t)v;
	return true;
}

/* The encoding of the code addresses in the FDEs of the CIE at CIE (its length field). */
static bool cie_encoding(const struct eh_reader *r, size_t cie, unsigned char *enc)
{
	size_t pos = cie;
	uint32_t len32, id;
	unsigned char version, b;
	const char *aug;
	int64_t skip;

	*enc = EH_PE_absptr;
	if (!read_bytes(r, &pos, &len32, 4) || len32 == 0xffffffff ||
	    !read_bytes(r, &pos, &id, 4) || id != 0 || !read_bytes(r, &pos, &version, 1))
		return false;
	aug = (const char *)r->buf + pos;
	if (!memchr(aug, '\0', r->size - pos))
		return false;
	pos += strlen(aug) + 1;
	if (aug[0] != 'z')
		return true; /* no augmentation data: absolute addresses */
	/* code alignment, data alignment, return address register */
	if (!read_leb(r, &pos, false, &skip) || !read_leb(r, &pos, true, &skip))
		return false;
	if (version == 1 ? !read_bytes(r, &pos, &b, 1) : !read_leb(r, &pos, false, &skip))
		return false;
	if (!read_leb(r, &pos, false, &skip))
		return false;
	for (const char *a = aug + 1; *a; a++) {
		unw_word_t ignored;

		switch (*a) {
		case 'R':
			return read_bytes(r, &pos, enc, 1);
		case 'P':
			if (!read_bytes(r, &pos, &b, 1) ||
			    !read_pointer(r, &pos, b & 0x7f, &ignored))
				return false;
			break;
		case 'L':
			if (!read_bytes(r, &pos, &b, 1))
				return false;
			break;
		case 'S':
		case 'B':
			break;
		default:
			return false;
		}
	}
	return true;
}

static int by_start(const void *a, const void *b)
{
	const int32_t *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/* T's entries: one for each FDE of .eh_frame (R), relative to T->segbase. */
static void table_fill(struct eh_table *t, const struct eh_reader *r)
{
	size_t pos = 0, cap = 0, cached_cie = SIZE_MAX;
	unsigned char enc = EH_PE_absptr;

	while (pos + 4 <= r->size) {
		size_t record = pos, fields;
		uint32_t len32, id;
		uint64_t len;
		unw_word_t start;
		int64_t rel_start, rel_fde;

		if (!read_bytes(r, &pos, &len32, 4) || len32 == 0)
			break; /* the end, or the terminator */
		len = len32;
		if (len32 == 0xffffffff && !read_bytes(r, &pos, &len, 8))
			break;
		fields = pos;
		if (len < 4 || len > r->size - fields)
			break;
		pos = fields + len;
		memcpy(&id, r->buf + fields, 4);
		if (id == 0 || id > fields)
			continue; /* a CIE, or a broken FDE */
		if (fields - id != cached_cie) {
			cached_cie = fields - id;
			if (!cie_encoding(r, cached_cie, &enc))
				enc = EH_PE_omit;
		}
		fields += 4;
		if (enc == EH_PE_omit || !read_pointer(r, &fields, enc, &start) || !start)
			continue;
		rel_start = (int64_t)(start - t->segbase);
		rel_fde = (int64_t)(r->addr + record - t->segbase);
		if (rel_start != (int32_t)rel_start || rel_fde != (int32_t)rel_fde)
			continue;
		if (t->count == cap) {
			cap = cap ? 2 * cap : 1024;
			t->entries = xrealloc(t->entries, cap * 2 * sizeof(*t->entries));
		}
		t->entries[2 * t->count] = (int32_t)rel_start;
		t->entries[2 * t->count + 1] = (int32_t)rel_fde;
		t->count++;
	}
	if (t->count)
		qsort(t->entries, t->count, 2 * sizeof(*t->entries), by_start);
}

static bool pread_all(int fd, void *buf, size_t len, off_t at)
{
	return pread(fd, buf, len, at) == (ssize_t)len;
}

/*
 * The table of the object mapped at M, which holds IP, into T: its
 * executable segment's range always (so a failure is not tried again),
 * its entries when it has an .eh_frame.
 */
static void table_build(const struct mapping *m, unw_word_t ip, struct eh_table *t)
{
	autoclose int fd = open(m->file, O_RDONLY | O_CLOEXEC);
	autofree Elf64_Phdr *ph = NULL;
	autofree Elf64_Shdr *sh = NULL;
	autofree char *names = NULL;
	autofree unsigned char *eh = NULL;
	unw_word_t bias = 0;
	bool biased = false;
	Elf64_Ehdr eh_hdr;
	struct eh_reader r;

	*t = (struct eh_table){.start_ip = m->start, .end_ip = m->end};
	if (fd < 0 || !pread_all(fd, &eh_hdr, sizeof(eh_hdr), 0) ||
	    memcmp(eh_hdr.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh_hdr.e_ident[EI_CLASS] != ELFCLASS64 || eh_hdr.e_phentsize != sizeof(*ph) ||
	    eh_hdr.e_shentsize != sizeof(*sh) || eh_hdr.e_shstrndx >= eh_hdr.e_shnum)
		return;
	ph = xcalloc(eh_hdr.e_phnum + 1, sizeof(*ph));
	sh = xcalloc(eh_hdr.e_shnum + 1, sizeof(*sh));
	if (!pread_all(fd, ph, eh_hdr.e_phnum * sizeof(*ph), eh_hdr.e_phoff) ||
	    !pread_all(fd, sh, eh_hdr.e_shnum * sizeof(*sh), eh_hdr.e_shoff))
		return;
	/* The load bias, from the segment the mapping's file offset is in. */
	for (int i = 0; i < eh_hdr.e_phnum && !biased; i++) {
		if (ph[i].p_type == PT_LOAD && m->offset >= ph[i].p_offset &&
		    m->offset < ph[i].p_offset + ph[i].p_filesz) {
			bias = m->start - (ph[i].p_vaddr + (m->offset - ph[i].p_offset));
			biased = true;
		}
	}
	if (!biased)
		return;
	for (int i = 0; i < eh_hdr.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ip - bias >= ph[i].p_vaddr &&
		    ip - bias < ph[i].p_vaddr + ph[i].p_memsz) {
			t->start_ip = ph[i].p_vaddr + bias;
			t->end_ip = ph[i].p_vaddr + ph[i].p_memsz + bias;
		}
	}
	{
		const Elf64_Shdr *strtab = &sh[eh_hdr.e_shstrndx];

		if (strtab->sh_size > (1 << 20))
			return;
		names = xcalloc(strtab->sh_size + 1, 1);
		if (!pread_all(fd, names, strtab->sh_size, strtab->sh_offset))
			return;
		for (int i = 0; i < eh_hdr.e_shnum; i++) {
			if (sh[i].sh_name >= strtab->sh_size ||
			    strcmp(names + sh[i].sh_name, ".eh_frame") != 0 ||
			    sh[i].sh_type != SHT_PROGBITS || sh[i].sh_size > (256u << 20))
				continue;
			eh = xmalloc(sh[i].sh_size + 1);
			if (!pread_all(fd, eh, sh[i].sh_size, sh[i].sh_offset))
				return;
			r = (struct eh_reader){eh, sh[i].sh_size, sh[i].sh_addr + bias};
			t->segbase = r.addr;
			table_fill(t, &r);
			return;
		}
	}
}

/* The table for IP, built on first use; NULL when IP is in no mapped file. */
static const struct eh_table *table_for(struct why *w, unw_word_t ip)
{
	const struct mapping *m;
	struct eh_table *t;

	for (size_t i = 0; i < w->ntables; i++)
		if (ip >= w->tables[i].start_ip && ip < w->tables[i].end_ip)
			return &w->tables[i];
	m = mapping_at(&w->maps, ip);
	if (!m)
		return NULL;
	w->tables = xrealloc(w->tables, (w->ntables + 1) * sizeof(*w->tables));
	t = &w->tables[w->ntables++];
	table_build(m, ip, t);
	t->lent_at = w->next_lent;
	w->next_lent += (t->count * 2 * sizeof(*t->entries) + 15) & ~(unw_word_t)7;
	return t;
}

static int why_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			  void *arg)
{
	struct why *w = unwinding;

	if (addr < TABLE_SPACE || !w)
		return _UPT_access_mem(as, addr, val, write, arg);
	for (size_t i = 0; i < w->ntables; i++) {
		const struct eh_table *t = &w->tables[i];
		size_t size = t->count * 2 * sizeof(*t->entries);

		if (addr < t->lent_at || addr >= t->lent_at + size)
			continue;
		if (write)
			return -UNW_EINVAL;
		*val = 0;
		memcpy(val, (const char *)t->entries + (addr - t->lent_at),
		       size - (addr - t->lent_at) < sizeof(*val) ? size - (addr - t->lent_at)
								 : sizeof(*val));
		return 0;
	}
	return -UNW_EINVAL;
}

static int why_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			      int need_unwind_info, void *arg)
{
	int ret = _UPT_find_proc_info(as, ip, pi, need_unwind_info, arg);
	const struct eh_table *t;
	unw_dyn_info_t di = {0};

	if (ret >= 0 || !unwinding)
		return ret;
	t = table_for(unwinding, ip);
	if (!t || !t->count)
		return ret;
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = t->start_ip;
	di.end_ip = t->end_ip;
	di.u.rti.segbase = t->segbase;
	di.u.rti.table_data = t->lent_at;
	di.u.rti.table_len = t->count * 2 * sizeof(*t->entries) / sizeof(unw_word_t);
	return dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

void why_init(struct tracer *t)
{
	struct why *w;

	t->why = NULL;
	if (!t->opts->why_glob)
		return;
	w = xcalloc(1, sizeof(*w));
	w->glob = t->opts->why_glob;
	w->name_too = !strchr(w->glob, '/');
	w->next_lent = TABLE_SPACE;
	w->accessors = _UPT_accessors;
	w->accessors.access_mem = why_access_mem;
	w->accessors.find_proc_info = why_find_proc_info;
	w->as = unw_create_addr_space(&w->accessors, 0);
	if (w->as)
		unw_set_caching_policy(w->as, UNW_CACHE_GLOBAL);
	t->why = w;
}

void why_free(struct tracer *t)
{
	if (!t->why)
		return;
	if (t->why->as)
		unw_destroy_addr_space(t->why->as);
	tables_free(t->why);
	free(t->why);
	t->why = NULL;
}

static bool matches(const struct why *w, const char *path)
{
	const char *name = strrchr(path, '/');

	if (fnmatch(w->glob, path, 0) == 0)
		return true;
	return w->name_too && name && fnmatch(w->glob, name + 1, 0) == 0;
}

/*
 * The name of the function the cursor is in, into NAME, and the offset of
 * its address in it. False when there is none, or when the symbol found
 * is not where the function's unwind information starts: in a stripped
 * object the nearest exported symbol before the address would be another
 * function's name (libc's start_thread is no "pthread_condattr_setpshared").
 */
static bool own_name(unw_cursor_t *cursor, unw_word_t ip, char *name, size_t size, unw_word_t *off)
{
	unw_proc_info_t pi;
	int ret = unw_get_proc_name(cursor, name, size, off);

	if (ret < 0 && ret != -UNW_ENOMEM)
		return false;
	if (unw_get_proc_info(cursor, &pi) == 0 && pi.start_ip && pi.start_ip != ip - *off)
		return false;
	return true;
}

/* The stack of TH, one line a frame, appended to SB. */
static void add_stack(struct why *w, struct thread *th, struct strbuf *sb)
{
	unw_cursor_t cursor;
	void *upt;
	int frame = 0, ret;

	if (!w->as) {
		strbuf_addstr(sb, "    (no stack: libunwind could not be set up)\n");
		return;
	}
	if (w->cached != th->proc) {
		unw_flush_cache(w->as, 0, 0);
		tables_free(w);
		w->cached = th->proc;
	}
	upt = _UPT_create(th->tid);
	if (!upt) {
		strbuf_addstr(sb, "    (no stack: out of memory)\n");
		return;
	}
	maps_read(th->tid, &w->maps);
	unwinding = w;
	ret = unw_init_remote(&cursor, w->as, upt);
	if (ret < 0) {
		strbuf_addf(sb, "    (no stack: libunwind error %d)\n", -ret);
		goto out;
	}
	do {
		unw_word_t ip = 0, off = 0;
		char name[256];
		const struct mapping *m;

		if (frame == WHY_FRAMES) {
			strbuf_addstr(sb, "    ...\n");
			break;
		}
		if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || !ip)
			break;
		/* A caller's address is just past its call: the call itself is at ip - 1. */
		m = mapping_at(&w->maps, frame ? ip - 1 : ip);
		if (!m && frame)
			break; /* not code of any mapped file: the unwinding went astray */
		strbuf_addf(sb, "    #%-2d 0x%016" PRIxPTR "  ", frame, (uintptr_t)ip);
		if (own_name(&cursor, ip, name, sizeof(name), &off)) {
			strbuf_addf(sb, "%s+0x%" PRIxPTR, name, (uintptr_t)off);
			if (m)
				strbuf_addf(sb, "  (%s)", base_name(m->file));
		} else if (m) {
			/* No name: where in the file, for addr2line or a debugger. */
			strbuf_addf(sb, "??  (%s, file offset 0x%lx)", base_name(m->file),
				    (unsigned long)(ip - m->start + m->offset));
		} else {
			strbuf_addstr(sb, "??");
		}
		strbuf_addch(sb, '\n');
		frame++;
	} while (unw_step(&cursor) > 0);
out:
	unwinding = NULL;
	maps_free(&w->maps);
	_UPT_destroy(upt);
}

/* All of BUF on FD: one write where the pipe allows, so blocks do not interleave. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

void why_access(struct tracer *t, struct thread *th, const char *path, unsigned access)
{
	struct why *w = t->why;
	struct strbuf sb = {0};
	const char *exe = th->proc && th->proc->exe ? th->proc->exe : NULL;
	autofree char *comm = NULL;
	const char *program;
	bool first = true;

	if (!w || !access || !matches(w, path))
		return;
	if (exe && *exe) {
		program = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	} else {
		size_t len;

		comm = proc_read_file(th->tid, "comm", &len);
		if (comm && len && comm[len - 1] == '\n')
			comm[len - 1] = '\0';
		program = comm ? comm : "?";
	}
	strbuf_addf(&sb, "ptvfs: why %s: ", path);
	for (unsigned bit = 1; bit < 1u << ACCESS_KINDS; bit <<= 1) {
		if (!(access & bit) || !access_name(bit))
			continue;
		strbuf_addf(&sb, "%s%s", first ? "" : ", ", access_name(bit));
		first = false;
	}
	strbuf_addf(&sb, " by %d", (int)th->tgid);
	if (th->tid != th->tgid)
		strbuf_addf(&sb, " (thread %d)", (int)th->tid);
	strbuf_addf(&sb, " %s", program);
	if (exe && *exe)
		strbuf_addf(&sb, " (%s)", exe);
	strbuf_addch(&sb, '\n');
	add_stack(w, th, &sb);
	write_all(STDERR_FILENO, sb.buf, sb.len);
	strbuf_release(&sb);
}
