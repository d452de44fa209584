/* SPDX-License-Identifier: MIT */
/*
 * The virtual view: a table of layers that says, for each path the command
 * sees (a "view path"), where it is on the host, or that it is a virtual
 * directory, a symbolic link, or absent (DESIGN.md §1).
 *
 * Built once from the command line (view_add_*), then sealed into one
 * compact, read-only image: a single allocation of fixed-size records and a
 * string pool, linked by offsets, never by pointers. Lookups run against the
 * sealed image only, so the image can later be shared with the traced
 * processes (a preloaded fast path, DESIGN.md §6) as it is.
 *
 * Rules (DESIGN.md §1):
 * - The deepest DEST that covers a path decides it; for the same DEST, the
 *   later declaration wins, except for inputs: two different SRCs for the
 *   same input DEST are an error (the same SRC twice is harmless).
 * - Parents of a DEST that exist in no covering layer are virtual
 *   directories: they exist, are read-only, and list exactly the entries
 *   visible in them.
 * - With no --root and no --hermetic the base is the host's "/", read-write.
 *   With --root DIR, DIR is the base, read-only. With --hermetic the base is
 *   empty. In both cases /dev, /proc and /sys of the host are in the view
 *   as LAYER_BIND declarations made before all the others, so that any
 *   declaration of the same DEST (--hide /proc) wins.
 * - Layer indexes: 0 is the base; then the implicit /dev, /proc, /sys (1 to
 *   3, with --root or --hermetic); then the declarations in order.
 * - A directory is virtual when it is an ancestor of a DEST, is no DEST
 *   itself, and its counterpart in the layer covering it is not a directory
 *   on the host (checked by view_seal): always so under a hermetic base, a
 *   --hide or a --symlink. Its undeclared names are absent.
 * - A path below a HIDE or a SYMLINK DEST is absent (links are the caller's
 *   to resolve first), unless a deeper DEST decides it.
 * - A HIDE DEST with a DEST of another kind below it (--hide /a, --bind X
 *   /a/b, in either order) is a virtual directory, as a tmpfs with binds in
 *   it is to bubblewrap: /a exists, is read-only, lists exactly its declared
 *   children ("b"; a hidden one is left out), and its undeclared names
 *   (/a/c) stay absent; its layer is LAYER_HIDE, its index the hide's. A
 *   HIDE DEST with only hides below it stays absent. For the same DEST the
 *   later declaration still wins (--hide /a then --bind X /a: the bind).
 *
 * Pure code: no ptrace. Functions return 0 or -errno; setup functions that
 * can fail on bad input also fill *ERR with a one-line message (malloc'd,
 * the caller frees it) naming the option, file and line.
 */
#ifndef PTVFS_VIEW_H
#define PTVFS_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a declaration puts at its DEST. */
enum layer_kind {
	LAYER_BASE_HOST,  /* the host's "/" (the default base), read-write */
	LAYER_BASE_ROOT,  /* --root DIR: DIR at "/", read-only */
	LAYER_BIND,	  /* --bind SRC DEST: writes reach SRC */
	LAYER_RO_BIND,	  /* --ro-bind SRC DEST: writes fail with EROFS */
	LAYER_OVERLAY,	  /* --overlay SRC DEST: copy-on-write (issue 4) */
	LAYER_TMPFS,	  /* --tmpfs DEST: SRC is the private host directory the caller made */
	LAYER_SYMLINK,	  /* --symlink TARGET DEST: SRC holds the link's target */
	LAYER_HIDE,	  /* --hide DEST: absent */
	LAYER_INPUT,	  /* a line of --inputs: read-only, SRC the host file or directory */
	LAYER_BASE_EMPTY, /* --hermetic: nothing at "/" */
};

/* What a view path is. */
enum view_node_kind {
	VIEW_ABSENT,	  /* ENOENT: hidden, or nothing declares it (hermetic) */
	VIEW_HOST,	  /* on the host at view_target.host */
	VIEW_VIRTUAL_DIR, /* a directory that exists only in the view */
	VIEW_SYMLINK,	  /* a declared symbolic link, target in view_target.host */
};

struct view_target {
	enum view_node_kind kind;
	bool read_only;	       /* writes fail with EROFS */
	enum layer_kind layer; /* the layer that decided */
	uint32_t layer_index;  /* its declaration order (for the report) */
	bool listing_changed;  /* a directory the view lists otherwise than its host directory */
	char host[4096];       /* VIEW_HOST: host path; VIEW_SYMLINK: the target */
};

struct view; /* the builder, then the sealed image */

struct view *view_new(void);
void view_free(struct view *v);

/*
 * --root DIR (DIR must be a directory; a link to one counts as what it
 * points to) or --hermetic. Before sealing only; the last call wins.
 */
int view_set_root(struct view *v, const char *host_dir, char **err);
void view_set_hermetic(struct view *v);

/*
 * Declare KIND (LAYER_BIND to LAYER_INPUT) at DEST (absolute, normalized
 * lexically here) from SRC: the host path (relative to the current
 * directory; stored as its realpath, so binding a link binds what it points
 * to), NULL for LAYER_HIDE, the target (kept as written) for LAYER_SYMLINK,
 * the private host directory for LAYER_TMPFS. OPTION names the
 * command-line option for messages ("OPTION PATH: what is wrong").
 * Errors, with *ERR set: -errno of a SRC that cannot be resolved (-ENOENT);
 * -EINVAL for a relative DEST or an input DEST declared before from another
 * SRC; -ENAMETOOLONG for a path of PATH_MAX bytes or more.
 */
int view_add(struct view *v, enum layer_kind kind, const char *src, const char *dest,
	     const char *option, char **err);

/*
 * Read a manifest (--inputs FILE): one declared input per line, "DEST" or
 * "DEST<TAB>SRC". A relative DEST is relative to CWD (the starting
 * directory; NULL: the current directory), then normalized lexically; SRC
 * defaults to DEST as a host path (relative to CWD). A SRC that is a link
 * is stored as what it points to (realpath), as is one with a ".."; any
 * other is only checked to exist (one lstat a line).
 * - Lines end with "\n" or "\r\n" (so a name ending in '\r' cannot be
 *   declared in a manifest).
 * - '#' starts a comment at the start of a line or after a blank (space or
 *   tab); the comment and the blanks before it are dropped. A '#' inside a
 *   name ("a#b") is part of it.
 * - Lines that are empty or only blanks are skipped; other blanks are part
 *   of the names.
 * Each line becomes a LAYER_INPUT. A broken line (empty DEST, empty SRC
 * after the tab, more than one tab, a NUL byte, a path of PATH_MAX bytes or
 * more, the same DEST as an earlier input from another SRC) gives -EINVAL;
 * a SRC that does not exist its -errno (-ENOENT); both with "FILE:LINE:
 * what is wrong" in *ERR. An unreadable manifest gives -errno and
 * "--inputs FILE: reason". The declared lines are kept, as written (without
 * the comment and the line end), in manifest order
 * (view_input_count/view_input_line). After an error the view is good
 * only for view_free(). The sources are checked by a few threads at once.
 */
int view_add_inputs(struct view *v, const char *manifest, const char *cwd, char **err);

/*
 * Seal: decide the virtual directories (one stat per ancestor of a DEST
 * that a host layer covers) and build the compact image. No view_add_* or
 * view_set_* after this. Lookups need a sealed view.
 */
int view_seal(struct view *v, char **err);

/*
 * The sealed image (NULL before view_seal): view_image_size() bytes that
 * hold no pointer, so a copy of them, anywhere (another buffer, a shared
 * mapping in another process), is the same view. Owned by V.
 */
const void *view_image(const struct view *v);

/*
 * A sealed view that looks up in the image copy IMAGE of SIZE bytes (not
 * copied, not freed by view_free: the caller keeps it alive). It has no
 * manifest lines (view_input_count() is 0). NULL when IMAGE is no image.
 */
struct view *view_from_image(const void *image, size_t size);

/*
 * What the view path PATH (absolute, canonical: no ".", "..", "//",
 * symbolic links already resolved by the caller up to its last component)
 * is. Never follows links itself. The exact DEST first, then a virtual
 * directory, then the deepest DEST covering PATH (or the base). read_only
 * is true for --root, --ro-bind, inputs and virtual directories. Returns 0,
 * -ENAMETOOLONG (PATH or the host path too long), or -EINVAL (not sealed,
 * PATH relative).
 */
int view_lookup(const struct view *v, const char *path, struct view_target *out);

/*
 * The names a listing of the view directory DIR must show besides (or,
 * for a virtual directory, instead of) the host directory's own entries:
 * declared children (bind points, inputs, virtual directories, links, and
 * directories on the way to them) through ADD, and names to drop through
 * the answer of KEEP for each entry of DIR's own host directory: false
 * when DIR/NAME is hidden, is given by ADD, or is not visible through the
 * layer covering DIR (a hermetic base, a virtual directory).
 * ADD is called once per name, in byte order, in O(number of children).
 * NAME in ADD points into the image (valid as long as the view).
 */
void view_list_extra(const struct view *v, const char *dir,
		     void (*add)(void *ctx, const char *name, enum view_node_kind kind), void *ctx);
bool view_keeps_host_entry(const struct view *v, const char *dir, const char *name);

/*
 * Whether a listing of the view directory DIR (canonical, as for
 * view_lookup) is its host directory's listing as it is, so that it needs
 * neither view_list_extra nor view_keeps_host_entry: DIR is VIEW_HOST, and
 * no DEST is declared right below it but a directory already there on the
 * host (one on the way to a deeper DEST) or the host's own file declared at
 * its own path where the layer covering DIR shows the host as it is (an
 * input over the host's "/"). False for anything else, an error included.
 * The declarations only: what an --overlay captured is the caller's to
 * add. O(depth of DIR) hash probes.
 */
bool view_dir_is_plain(const struct view *v, const char *dir);

/*
 * The view path where the host file HOST (absolute, canonical as the kernel
 * gives it: from /proc/PID/cwd, /proc/PID/fd/N, getcwd) is visible, into
 * OUT (PATH_MAX bytes). HOST's ancestors are walked from HOST itself up to
 * "/"; at each one P that is the SRC of a layer on the host (--bind,
 * --ro-bind, --overlay, --tmpfs, an input, the /dev, /proc and /sys of
 * --root and --hermetic, the base: --root DIR, or the host's "/"), the view
 * path is that layer's DEST followed by what follows P in HOST; the first
 * one that view_lookup finds VIEW_HOST at exactly HOST is the answer (so a
 * hidden or shadowed one is passed over). The layers of one SRC are tried
 * the later declaration first, the base last. A deeper SRC wins over a
 * shallower one: with --bind /a /x and --bind /a/b /y, /a/b/f is /y/f.
 * Returns 0; -ENOENT when HOST is visible nowhere in the view (outside
 * every layer under --hermetic, or only where a deeper DEST hides or
 * replaces it); -ENAMETOOLONG when HOST has PATH_MAX bytes or more, or its
 * only view paths would; -EINVAL when V is not sealed, HOST is relative or
 * has an empty component ("//", a '/' at the end). OUT is "" on error.
 * O(depth of HOST) probes of a hash table of the SRCs (the image holds it,
 * so views from view_from_image have it too), plus a view_lookup for each
 * view path tried (usually one).
 */
int view_host_to_view(const struct view *v, const char *host, char *out);
/* The same, with the view_lookup of OUT (its target) in *TARGET too on success. */
int view_host_to_view_target(const struct view *v, const char *host, char *out,
			     struct view_target *target);

/* The manifest's lines, in order, as written (for --unused-inputs and the report's inputs). */
size_t view_input_count(const struct view *v);
const char *view_input_line(const struct view *v, size_t i);
/* The view path a manifest line I declared: a string of the view's, or made in BUF (PATH_MAX bytes). */
const char *view_input_path(const struct view *v, size_t i, char *buf);

/* Size of the sealed image in bytes (for the benchmark's memory figures). */
size_t view_image_size(const struct view *v);

#endif
