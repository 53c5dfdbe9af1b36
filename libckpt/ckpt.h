/*
 * ckpt.h - libckpt: the Tandem checkpoint stream (docs/stream-format.md).
 *
 * Three layers: rio, a stream I/O interface in the manner of Redis' rio.h
 * (no short reads or writes at the API, a sticky error, byte counters)
 * with fd, memory, fault-injecting and TLS backends; records (framing, CRC-32C,
 * limits, the optional bit); and codecs for each record body (domain
 * header, page batches with raw/zero/lz4 pages).  The library never prints
 * and never exits: every call returns 0 or -1 and leaves a message.
 */
#ifndef TANDEM_CKPT_H
#define TANDEM_CKPT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memmap.h"

/* the monotonic clock, in ns (rio.c) */
uint64_t ckpt_now_ns(void);

/* ---- rio ---- */
struct rio;
struct rio_ops {
	const char *name;
	/* like read(2)/write(2): >0 bytes, 0 at EOF (read), -1 with errno */
	ssize_t (*read)(struct rio *, void *, size_t);
	ssize_t (*write)(struct rio *, const void *, size_t);
	int (*flush)(struct rio *);
	void (*close)(struct rio *);
	/* 1 when a read would not block, 0 when nothing came in timeout_ms
	 * (NULL: always readable) */
	int (*readable)(struct rio *, int timeout_ms);
};
struct rio {
	const struct rio_ops *ops;
	void *ctx;
	int err;		/* sticky errno; EPIPE-like end of stream is ECONNRESET */
	char errmsg[256];
	uint64_t bytes_read, bytes_written;
	uint8_t *wbuf;		/* write buffer (fd and TLS backends) */
	size_t wlen, wcap;
	uint8_t *rbuf;		/* read buffer */
	size_t roff, rlen, rcap;
	/* rio_set_stall: asked after every stall_ms without a byte to read */
	unsigned stall_ms;
	int (*stalled)(void *arg, unsigned waited_ms);
	void *stall_arg;
	/* rio_set_turn: the core given away after every turn_ns of work, turns times */
	uint64_t turn_ns, turn_due, turns;
};

int rio_read(struct rio *r, void *buf, size_t len);
int rio_write(struct rio *r, const void *buf, size_t len);
int rio_flush(struct rio *r);
void rio_close(struct rio *r);
const char *rio_error(const struct rio *r);
/* 1 when a read would not block (data, end of stream, or an error to
 * report), 0 when nothing came within timeout_ms */
int rio_readable(struct rio *r, int timeout_ms);
/* While a read finds nothing to read for ms, stalled(arg, ms waited so far,
 * by the clock) says what to do: 0 wait ms more, -1 fail the read
 * (ETIMEDOUT).  A write whose transport times out with nothing sent (a
 * socket's SO_SNDTIMEO: set it to ms) is asked about the same way, and
 * tried again with the same bytes.  NULL: off (the transport's own
 * timeouts only). */
void rio_set_stall(struct rio *r, unsigned ms, int (*stalled)(void *arg, unsigned waited_ms),
    void *arg);
/*
 * A stream copied in the background: the thread that moves it (its reads
 * and writes, and the engines' page loops, which call rio_turn) gives its
 * core away (sched_yield) after every us of work; 0: never.  Idle priority
 * alone does not keep such a thread off a guest's core: under the kernel's
 * EEVDF scheduler a vCPU that wakes owing CPU time (it ran more than its
 * share) is not eligible to run until it has paid, and an idle-priority
 * thread is then picked before it, for up to a time slice or a tick (4 ms
 * here).  A yield puts the yielding thread behind everything runnable.
 */
void rio_set_turn(struct rio *r, unsigned us);
void rio_turn(struct rio *r);
/*
 * Reads and drops what the peer still sends until it closes or has been
 * quiet for timeout_ms (at most 4 x timeout_ms in all).  After sending
 * ABORT: closing with unread data would reset the connection, and the
 * reset can destroy the ABORT before the peer reads it.
 */
void rio_drain(struct rio *r, int timeout_ms);

struct rio *rio_fd_open(int fd, int own_fd);
struct rio *rio_mem_writer(void);
const uint8_t *rio_mem_data(const struct rio *r, size_t *len);
/* empties a writer, keeping its buffer (a staging area used again and again) */
void rio_mem_reset(struct rio *r);
struct rio *rio_mem_reader(const void *p, size_t len);
/*
 * Wraps inner (and closes it on close): after fail_byte bytes or on call
 * number fail_call (counting reads and writes, from 1; 0 = never) the stream
 * fails: with EIO, or, when truncate is set, as if the peer went away.
 */
struct rio *rio_fault_open(struct rio *inner, uint64_t fail_byte, uint64_t fail_call, int truncate);

/* rio over an SSL * whose handshake is done; owns it and its fd */
struct rio *rio_tls_open(void *ssl);

/* internal to backends */
struct rio *rio_new(const struct rio_ops *ops, void *ctx, size_t bufsize);
int rio_fail(struct rio *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* poll(2) for input on fd: 1 readable (or hung up, or failing), 0 not in timeout_ms */
int rio_poll_in(int fd, int timeout_ms);

/* ---- crc32c.c ---- */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* ---- record.c ---- */
#define CKPT_MAGIC		"TNDMCKPT"
/* 2: DOMAIN_HEADER names its origin and guest; 3: and the guest's memory map */
#define CKPT_VERSION		3
#define CKPT_F_LZ4		0x1u
#define CKPT_FEATURES		CKPT_F_LZ4
#define CKPT_MAX_BODY		(8u << 20)
#define CKPT_OPTIONAL		0x80000000u
#define CKPT_PAGE_SIZE		4096
#define CKPT_BATCH_MAX		512

enum ckpt_type {
	CK_DOMAIN_HEADER = 1,
	CK_PAGE_DATA = 2,
	CK_VCPU_STATE = 3,
	CK_DEVICE_STATE = 4,
	CK_CHECKPOINT = 5,
	CK_END = 6,
	CK_ROUND = CKPT_OPTIONAL | 7,
	/* transport records of a live migration: never in a saved stream */
	CK_HELLO = 16,		/* sender -> receiver, first: u64 migration id, u32 flags */
	CK_READY = 17,		/* receiver: final state loaded, domain paused */
	CK_COMMIT = 18,		/* sender: source handed over, run it */
	CK_RUNNING = 19,	/* receiver: the domain runs here */
	CK_ABORT = 20,		/* either side: text reason; nothing was committed */
	CK_OUTCOME = 21,	/* receiver in doubt asks: u64 id, name -> COMMIT or ABORT */
	CK_PREPARED = 22,	/* receiver: the incoming domain exists; pages may stop */
	CK_SYNC = 23,		/* sender asks, receiver echoes once all before it is applied */
	CK_FENCE = 24,		/* a cluster fencer -> a host's migrated: destroy every domain */
	CK_FENCED = 25,		/* the answer: text, what was destroyed */
	CK_CONFIRM = 26,	/* a source asks its destination: u64 id, name -> RUNNING or ABORT */
	CK_FRAMES = 27,		/* sender, after RUNNING: the VM's late frames, a frame list */
	CK_EPOCH_ACK = 28,	/* a backup -> its primary: u64 epoch, applied whole */
	CK_PROTECT = 29,	/* a primary's remusd -> the backup's, first: struct ckpt_protect */
	CK_REPROTECT = 30,	/* a remusd -> the one its VM moved to: protect it from there
				 * (struct ckpt_protect), the only record */
};

struct ckpt_record {
	uint32_t type;
	uint32_t len;
	uint8_t *body;		/* owned; grown as needed; free with ckpt_record_free */
	size_t cap;
};

const char *ckpt_type_name(uint32_t type);
int ckpt_write_header(struct rio *r, uint32_t features);
int ckpt_read_header(struct rio *r, uint32_t *features);
/* Writes one record whose body is the concatenation of n parts. */
int ckpt_write_record(struct rio *r, uint32_t type, const void *const *parts,
    const size_t *lens, int n);
int ckpt_write_simple(struct rio *r, uint32_t type, const void *body, size_t len);
/* One record, flushed: for the handshake's single-record messages. */
int ckpt_send(struct rio *r, uint32_t type, const void *body, size_t len);
/*
 * Reads and checks one record (length, padding, CRC).  An unknown optional
 * record is returned as it is, for the caller to skip; an unknown mandatory
 * record is an error.
 */
int ckpt_read_record(struct rio *r, struct ckpt_record *rec);
void ckpt_record_free(struct ckpt_record *rec);

/* ---- order.c: which record may come next ---- */
enum ckpt_phase { CKO_START, CKO_DOMAIN, CKO_STATE, CKO_ENDED };
struct ckpt_order {
	enum ckpt_phase phase;
	int have_vcpu, have_dev;
	uint64_t last_epoch;
};
/* 0 when a record of this type may come next (and advances), else -1 + msg */
int ckpt_order_next(struct ckpt_order *o, uint32_t type, char *err, size_t errlen);

/* ---- body.c: record bodies ---- */
struct ckpt_domain {
	uint64_t mem;
	uint32_t vcpus, page_size;
	char name[65];
	char net[64];		/* the NIC, "BRIDGE,mac=XX:XX:XX:XX:XX:XX" ("" none) */
	char origin[16];	/* the backend whose state the stream carries ("hvd", "xen") */
	char guest[32];		/* the guest's kind ("x86_64-pvh") */
	/* where its pages are (memmap.h): the stream's pfns are page indexes
	 * into it; empty, RAM is one block of mem bytes */
	struct memmap map;
};
/* the pages a stream's pfns index: the map's, or mem's when it is empty */
static inline uint64_t ckpt_domain_pages(const struct ckpt_domain *d)
{
	return d->map.n ? memmap_pages(&d->map) : d->mem / CKPT_PAGE_SIZE;
}
struct ckpt_round {
	uint32_t round;
	uint64_t pages, left;
};
int ckpt_domain_encode(const struct ckpt_domain *d, uint8_t *buf, size_t cap, size_t *len);
int ckpt_domain_decode(const uint8_t *b, size_t len, struct ckpt_domain *d, char *err, size_t errlen);
/* the DOMAIN_HEADER record of a domain name, shaped as given, onto r */
int ckpt_write_domain(struct rio *r, const char *name, uint64_t mem, uint32_t vcpus,
    const char *net, const char *origin, const char *guest, const struct memmap *map);
/* whether a receiver on backend (its name) that runs guests of kind guest
 * can restore the stream d heads: else why not */
int ckpt_domain_fits(const struct ckpt_domain *d, const char *backend, const char *guest,
    char *err, size_t errlen);
int ckpt_u64_decode(const uint8_t *b, size_t len, uint64_t *v, char *err, size_t errlen);
/* PROTECT: u64 generation (the table's, 0 outside a cluster), u32 epoch
 * length in ms, u32 name length, the name (a VM name: 1-64 of [A-Za-z0-9._-]) */
struct ckpt_protect {
	uint64_t gen;
	uint32_t epoch_ms;
	char name[65];
};
int ckpt_protect_encode(const struct ckpt_protect *p, uint8_t *buf, size_t cap, size_t *len);
int ckpt_protect_decode(const uint8_t *b, size_t len, struct ckpt_protect *p, char *err,
    size_t errlen);
int ckpt_round_decode(const uint8_t *b, size_t len, struct ckpt_round *rd, char *err, size_t errlen);
void ckpt_round_encode(const struct ckpt_round *rd, uint8_t out[24]);

/* ---- pages.c: PAGE_DATA batches ---- */
enum ckpt_enc { CKE_RAW = 0, CKE_ZERO = 1, CKE_LZ4 = 2 };
/* LZ4 use: never, for every page, or while it pays (pages that do not
 * shrink by a quarter make it skip the next pages, more after each miss) */
enum ckpt_lz4 { CKPT_LZ4_OFF = 0, CKPT_LZ4_ON = 1, CKPT_LZ4_AUTO = 2 };
struct ckpt_batch {
	uint32_t count;
	uint32_t limit;		/* pages per batch, up to CKPT_BATCH_MAX (0: that) */
	int lz4;		/* enum ckpt_lz4 */
	uint32_t skip, backoff;	/* auto: pages left to send raw, next back-off */
	uint8_t head[8 + 16 * CKPT_BATCH_MAX];
	uint8_t *data;		/* CKPT_BATCH_MAX pages */
	size_t data_len;
	void *lz4_state;	/* kept across pages: a fresh one costs a 16 KiB memset */
	uint64_t pages_raw, pages_zero, pages_lz4;	/* totals, for reports */
};
int ckpt_page_is_zero(const uint8_t *page);
int ckpt_batch_init(struct ckpt_batch *b, int lz4);
void ckpt_batch_free(struct ckpt_batch *b);
/* Adds one page (copied/compressed now); flushes a full batch to r. */
int ckpt_batch_add(struct ckpt_batch *b, struct rio *r, uint64_t pfn, const uint8_t *page);
int ckpt_batch_flush(struct ckpt_batch *b, struct rio *r);
/*
 * Checks a whole PAGE_DATA body against a guest of npages pages; *count gets
 * its number of pages, enc_counts (if set) the pages per encoding.  With
 * scratch (CKPT_BATCH_MAX pages) LZ4 page i is left decompressed at page i.
 */
int ckpt_pages_check(const uint8_t *body, size_t len, uint64_t npages, uint8_t *scratch,
    uint32_t *count, uint32_t enc_counts[3], char *err, size_t errlen);
/*
 * Writes a checked body's pages into mem (a mapping of the guest); LZ4
 * pages come from scratch when the check left them there, else they are
 * decompressed again.
 */
void ckpt_pages_copy(const uint8_t *body, uint8_t *mem, const uint8_t *scratch);
/*
 * Writes a body checked with scratch into the guest memory file fd with
 * pwritev, a call per run of consecutive pfns: no page faults, and fresh
 * pages are not zeroed first.
 */
int ckpt_pages_pwrite(const uint8_t *body, int fd, uint8_t *scratch);
/* check, then (when mem is set) copy: nothing is written unless all is valid */
int ckpt_pages_apply(const uint8_t *body, size_t len, uint64_t npages, uint8_t *mem,
    uint32_t *count, uint32_t enc_counts[3], char *err, size_t errlen);

/* ---- save.c: the save engine (live migration and Remus) ---- */
#define CKPT_SAVE_TICK		512	/* pages between two calls of the tick hook */
#define CKPT_BURST_BATCH	64	/* pages per batch while the guest is paused */
struct ckpt_save;
enum ckpt_save_next { CKS_AGAIN, CKS_STOP, CKS_ABORT };
struct ckpt_save_round {
	uint32_t round;		/* the round just sent */
	uint64_t ns;		/* from its start to the peek after it */
	uint64_t pages;		/* pages it sent */
	uint64_t dirty;		/* pages to send now */
};
/*
 * The hooks.  Each returns 0 or -1; on -1 it may say why in s->err (the
 * stream's error is used otherwise).  Only peek and policy are required.
 */
struct ckpt_save_ops {
	/* Peek-and-clean the guest's dirty log into s->bitmap; the engine adds
	 * it to the pages to send. */
	int (*peek)(struct ckpt_save *s);
	/* After each round's peek: another round (CKS_AGAIN), stop so the
	 * caller suspends the guest and saves its state (CKS_STOP), or give up
	 * (CKS_ABORT, with s->err).  Live migration's is the convergence
	 * controller; it may throttle the guest itself. */
	enum ckpt_save_next (*policy)(struct ckpt_save *s, const struct ckpt_save_round *rd);
	/* End of each round, before the next peek (migration: a SYNC round trip). */
	int (*round_end)(struct ckpt_save *s);
	/* Every CKPT_SAVE_TICK pages sent, with the pages still to scan:
	 * cancellation, the peer's messages, a rate cap, progress. */
	int (*tick)(struct ckpt_save *s, uint64_t left);
};
struct ckpt_save {
	/* the caller's, set before ckpt_save_init */
	const struct ckpt_save_ops *ops;
	void *arg;
	struct rio *r;
	const uint8_t *mem;	/* the guest's memory, mem_size bytes */
	uint64_t mem_size;
	int memfd;		/* the file behind mem, to skip its holes; -1: none to skip */
	const uint64_t *bitmap;	/* where peek leaves the dirty log, bmlen bytes */
	size_t bmlen;
	/* set for a staged checkpoint's ckpt_save_state: the pending pages are
	 * here, the k-th (in pfn order) at page k, copied by the hypervisor
	 * while the guest stood; the pending set must be the bitmap they were
	 * copied from (nothing left from before) */
	const uint8_t *stage;
	/* the engine's */
	struct ckpt_batch b;
	uint64_t npages, *pending, dirty;	/* pending: to send; dirty: how many */
	uint64_t scanned, pages_sent;
	uint32_t round;
	int burst;
	char err[512];
};
int ckpt_save_init(struct ckpt_save *s, int lz4);
void ckpt_save_free(struct ckpt_save *s);
/* Round 0 and the rounds the policy wants, while the guest runs; 0 once it
 * says stop (s->dirty pages are still to send). */
int ckpt_save_live(struct ckpt_save *s);
/* The bitmap (a suspended guest's last peek) into the pages to send: their count. */
uint64_t ckpt_save_merge(struct ckpt_save *s);
/* With the guest paused: ROUND (left 0), VCPU_STATE, DEVICE_STATE, the
 * pages to send, then end: CK_END, or CK_CHECKPOINT with epoch. */
int ckpt_save_state(struct ckpt_save *s, const void *vcpu, size_t vcpu_len, const void *dev,
    size_t dev_len, uint32_t end, uint64_t epoch);

/* ---- restore.c: the restore engine (live migration and Remus) ---- */
#define CKPT_EPOCH_MAX	(256ULL << 20)	/* bytes of records one epoch may buffer */
struct ckpt_restore;
/*
 * The hooks.  Each returns 0 or -1; on -1 it may say why in rs->err.
 * domain and state are required; checkpoint is required to take epochs.
 */
struct ckpt_restore_ops {
	/* DOMAIN_HEADER: create the target and set rs->mem (a mapping of its
	 * memory) or rs->fd (its memory file, written with pwritev); it may
	 * lower rs->npages (the header's) to the memory it found. */
	int (*domain)(struct ckpt_restore *rs, const struct ckpt_domain *d);
	/* a state's VCPU_STATE and DEVICE_STATE: load them into the target; a
	 * live migration's last state may be left loading (the records are not
	 * kept) if state_wait is given, which END calls before the end hook */
	int (*state)(struct ckpt_restore *rs, const struct ckpt_record *vcpu,
	    const struct ckpt_record *dev);
	int (*state_wait)(struct ckpt_restore *rs);
	/* an epoch is about to be applied (its CHECKPOINT came; may be NULL) */
	int (*applying)(struct ckpt_restore *rs, uint64_t epoch);
	/* an epoch is applied whole: acknowledge it */
	int (*checkpoint)(struct ckpt_restore *rs, uint64_t epoch);
	/* END, after the state is loaded */
	int (*end)(struct ckpt_restore *rs);
	/* ROUND (progress; left 0: the sender's guest is paused) */
	int (*round)(struct ckpt_restore *rs, const struct ckpt_round *rd);
	/* n pages written into the target */
	void (*applied)(struct ckpt_restore *rs, uint32_t n);
	/* a transport record (type 16 and up): 0 go on, 1 stop reading; without
	 * this hook one is an error */
	int (*other)(struct ckpt_restore *rs, const struct ckpt_record *rec);
};
struct ckpt_epoch_rec {
	uint8_t *body;
	size_t len;
};
struct ckpt_restore {
	/* the caller's, set before ckpt_restore_init */
	const struct ckpt_restore_ops *ops;
	void *arg;
	struct rio *r;
	int checkpointed;	/* buffer each epoch after the first until its CHECKPOINT */
	uint64_t epoch_max;	/* 0: CKPT_EPOCH_MAX */
	/* the target, set by the domain hook */
	uint8_t *mem;
	int fd;
	/* the engine's */
	uint64_t npages, pages, apply_ns;	/* pages written, and the time it took */
	uint64_t epoch;		/* the last epoch applied (0: none yet) */
	struct ckpt_order ord;
	struct ckpt_record vcpu, dev;
	int have_vcpu, have_dev, loaded, final;
	uint8_t *scratch;
	struct ckpt_epoch_rec *ep;	/* the epoch being received */
	size_t ep_n, ep_cap;
	uint64_t ep_bytes;
	char err[512];
};
int ckpt_restore_init(struct ckpt_restore *rs);
void ckpt_restore_free(struct ckpt_restore *rs);
/* The header and the records up to END (or a hook's stop): 0, or -1 with
 * rs->err.  An epoch not complete when it returns was never applied. */
int ckpt_restore_run(struct ckpt_restore *rs);

#endif
