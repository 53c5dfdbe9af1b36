/*
 * protect.c - `tandem protect NAME --backup HOST [--epoch MS]`: asks this
 * host's remusd to protect NAME with a shadow on HOST, draws the initial
 * copy's progress bar, and returns once the first epoch is acknowledged
 * (or says why it was not).  `tandem unprotect NAME` ends a protection
 * (the VM runs on, its output no longer held); `tandem protection [NAME]`
 * lists every protection this host takes part in, as primary or backup:
 * state, peer, epoch length achieved, lag, pause and held bytes.  --json
 * prints one object.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "remctl.h"

#define PROTECT_WAIT_S	600	/* the initial copy of a large guest on a slow link */

static void rc_open(const struct ctl *c, struct dclient *d)
{
	*d = (struct dclient){ .daemon = "remusd", .schema = &remctl_schema, .err_type = RC_ERR,
		.errmsg_attr = RA_ERRMSG, .fd = -1 };
	dc_open(c, d, c->remusd, "TANDEM_REMUSD", REMUSD_DEFAULT_SOCK);
}

static void rc_status(const struct ctl *c, struct dclient *d, const char *name)
{
	struct msg_out o;
	msg_begin(&o, RC_STATUS, ++d->seq);
	if (name)
		msg_add_str(&o, RA_NAME, name);
	dc_call(c, d, &o);
}

/* the n-th protection of a status reply, decoded into a */
static int prot_at(const struct ctl *c, const struct msg_in *in, size_t *pos, struct msg_in *a)
{
	const uint8_t *val;
	uint32_t len;
	char err[256];
	if (!msg_next(in, RA_PROT, pos, &val, &len))
		return 0;
	if (msg_parse_attrs(&remctl_schema, &remctl_prot_policy, val, len, a, err, sizeof(err)) < 0)
		ctl_fail(c, "remusd's status: %s", err);
	return 1;
}

static void prot_json(const struct msg_in *a, int comma)
{
	char s[600];
	printf("%s{", comma ? "," : "");
	json_kv_str(stdout, "name", msg_str(a, RA_NAME, s, sizeof(s)), 0);
	json_kv_str(stdout, "role", rem_role_name(msg_u32(a, RA_ROLE)), 1);
	json_kv_str(stdout, "state", rem_state_name(msg_u32(a, RA_STATE)), 1);
	json_kv_str(stdout, "peer", msg_str(a, RA_PEER, s, sizeof(s)), 1);
	json_kv_u64(stdout, "epoch", msg_u64(a, RA_EPOCH), 1);
	json_kv_u64(stdout, "epoch_target_ms", msg_u32(a, RA_EPOCH_MS), 1);
	json_kv_f(stdout, "epoch_ms", (double)msg_u64(a, RA_ACHIEVED_US) / 1e3, 1);
	json_kv_u64(stdout, "lag_ms", msg_u64(a, RA_LAG_MS), 1);
	json_kv_f(stdout, "pause_ms", (double)msg_u64(a, RA_PAUSE_US) / 1e3, 1);
	json_kv_f(stdout, "pause_max_ms", (double)msg_u64(a, RA_PAUSE_MAX_US) / 1e3, 1);
	json_kv_u64(stdout, "held_bytes", msg_u64(a, RA_HELD_BYTES), 1);
	json_kv_u64(stdout, "bytes_sent", msg_u64(a, RA_BYTES), 1);
	json_kv_u64(stdout, "throttle_pct", msg_u32(a, RA_THROTTLE), 1);
	json_kv_f(stdout, "progress_pct", msg_u32(a, RA_PERMILLE) / 10.0, 1);
	json_kv_u64(stdout, "since_ms", msg_u64(a, RA_SINCE_MS), 1);
	json_kv_str(stdout, "detail", msg_str(a, RA_DETAIL, s, sizeof(s)), 1);
	printf("}");
}

static void prot_text(const struct msg_in *a)
{
	char name[80], peer[256], detail[600];
	printf("%-16s %-7s %-12s %-10s %8llu %6.1f/%-4u %6llu %7.2f/%-7.2f %9llu  %s\n",
	    msg_str(a, RA_NAME, name, sizeof(name)), rem_role_name(msg_u32(a, RA_ROLE)),
	    rem_state_name(msg_u32(a, RA_STATE)), msg_str(a, RA_PEER, peer, sizeof(peer)),
	    (unsigned long long)msg_u64(a, RA_EPOCH), (double)msg_u64(a, RA_ACHIEVED_US) / 1e3,
	    msg_u32(a, RA_EPOCH_MS), (unsigned long long)msg_u64(a, RA_LAG_MS),
	    (double)msg_u64(a, RA_PAUSE_US) / 1e3, (double)msg_u64(a, RA_PAUSE_MAX_US) / 1e3,
	    (unsigned long long)msg_u64(a, RA_HELD_BYTES), msg_str(a, RA_DETAIL, detail, sizeof(detail)));
}

static void prot_header(void)
{
	printf("%-16s %-7s %-12s %-10s %8s %11s %6s %15s %9s  %s\n", "VM", "ROLE", "STATE", "PEER",
	    "EPOCH", "EPOCH_MS", "LAG", "PAUSE/MAX_MS", "HELD", "DETAIL");
}

int prot_configured(const struct ctl *c)
{
	return c->remusd || getenv("TANDEM_REMUSD") || access(REMUSD_DEFAULT_SOCK, F_OK) == 0;
}

void prot_list(const struct ctl *c, const char *name, const char *lead)
{
	struct dclient d;
	struct msg_in a;
	size_t pos = 0;
	int n = 0;
	rc_open(c, &d);
	rc_status(c, &d, name);
	printf("%s", lead);
	if (c->json)
		printf("\"protections\":[");
	else
		prot_header();
	while (prot_at(c, &d.in, &pos, &a)) {
		if (c->json)
			prot_json(&a, n);
		else
			prot_text(&a);
		n++;
	}
	if (c->json)
		printf("]");
	else if (!n)
		printf("(no protections on this host)\n");
}

int cmd_protection(struct ctl *c, int argc, char **argv)
{
	if (argc > 1)
		ctl_fail(c, "usage: tandem protection [NAME]");
	prot_list(c, argc ? argv[0] : NULL, c->json ? "{" : "");
	if (c->json)
		printf("}\n");
	return 0;
}

static void bar(const struct msg_in *a)
{
	char detail[600];
	unsigned pm = msg_u32(a, RA_PERMILLE);
	int w = 30, fill = (int)(pm * (unsigned)w / 1000);
	fprintf(stderr, "\r[");
	for (int i = 0; i < w; i++)
		fputc(i < fill ? '#' : '-', stderr);
	fprintf(stderr, "] %5.1f%%  %-9s %.50s ", pm / 10.0, rem_state_name(msg_u32(a, RA_STATE)),
	    msg_str(a, RA_DETAIL, detail, sizeof(detail)));
}

int cmd_protect(struct ctl *c, int argc, char **argv)
{
	const char *name = NULL, *backup = NULL;
	long epoch = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--backup") && i + 1 < argc)
			backup = argv[++i];
		else if (!strcmp(argv[i], "--epoch") && i + 1 < argc) {
			char *end;
			epoch = strtol(argv[++i], &end, 10);
			if (*end || epoch < 5 || epoch > 10000)
				ctl_fail(c, "--epoch %s: milliseconds, 5 to 10000", argv[i]);
		} else if (!name && argv[i][0] != '-')
			name = argv[i];
		else
			ctl_fail(c, "usage: tandem protect NAME --backup HOST [--epoch MS]");
	}
	if (!name || !backup)
		ctl_fail(c, "usage: tandem protect NAME --backup HOST [--epoch MS]");
	struct dclient d;
	struct msg_out o;
	struct msg_in a;
	rc_open(c, &d);
	msg_begin(&o, RC_PROTECT, ++d.seq);
	msg_add_str(&o, RA_NAME, name);
	msg_add_str(&o, RA_BACKUP, backup);
	if (epoch)
		msg_add_u32(&o, RA_EPOCH_MS, (uint32_t)epoch);
	dc_call(c, &d, &o);
	int tty = !c->json && isatty(2);
	for (int i = 0; i < PROTECT_WAIT_S * 10; i++) {
		size_t pos = 0;
		rc_status(c, &d, name);
		if (!prot_at(c, &d.in, &pos, &a))
			ctl_fail(c, "remusd lists no protection of %s", name);
		unsigned st = msg_u32(&a, RA_STATE);
		if (tty)
			bar(&a);
		if (st != RS_SYNCING) {
			char detail[600];
			if (tty)
				fputc('\n', stderr);
			if (c->json) {
				printf("{\"result\":\"%s\",\"protection\":", st == RS_PROTECTED ? "ok" : "failed");
				prot_json(&a, 0);
				printf("}\n");
			} else if (st == RS_PROTECTED)
				printf("protected %s: shadow on %s, %u ms epochs\n", name, backup,
				    msg_u32(&a, RA_EPOCH_MS));
			else
				fprintf(stderr, "tandem: protecting %s: %s: %s\n", name, rem_state_name(st),
				    msg_str(&a, RA_DETAIL, detail, sizeof(detail)));
			return st == RS_PROTECTED ? 0 : 1;
		}
		usleep(100000);
	}
	ctl_fail(c, "%s: still syncing after %d s (tandem protection %s)", name, PROTECT_WAIT_S, name);
}

/* this host's protection of name as primary, if any: its backup and epoch */
static int prot_primary(const struct ctl *c, const char *name, char *backup, size_t blen,
    unsigned *epoch_ms)
{
	struct dclient d;
	struct msg_in a;
	size_t pos = 0;
	char s[80];
	if (!prot_configured(c))
		return 0;
	rc_open(c, &d);
	rc_status(c, &d, NULL);
	while (prot_at(c, &d.in, &pos, &a))
		if (!strcmp(msg_str(&a, RA_NAME, s, sizeof(s)), name) && msg_u32(&a, RA_ROLE) == RR_PRIMARY &&
		    (msg_u32(&a, RA_STATE) == RS_PROTECTED || msg_u32(&a, RA_STATE) == RS_SYNCING)) {
			msg_str(&a, RA_PEER, backup, blen);
			*epoch_ms = msg_u32(&a, RA_EPOCH_MS);
			close(d.fd);
			return 1;
		}
	close(d.fd);
	return 0;
}

static int unprotect_wait(const struct ctl *c, const char *name, struct msg_in *a)
{
	struct dclient d;
	struct msg_out o;
	rc_open(c, &d);
	msg_begin(&o, RC_UNPROTECT, ++d.seq);
	msg_add_str(&o, RA_NAME, name);
	dc_call(c, &d, &o);
	for (int i = 0; i < 100; i++) {	/* the next epoch ends it */
		size_t pos = 0;
		rc_status(c, &d, name);
		if (prot_at(c, &d.in, &pos, a) && msg_u32(a, RA_STATE) != RS_PROTECTED &&
		    msg_u32(a, RA_STATE) != RS_SYNCING)
			return (int)msg_u32(a, RA_STATE);
		usleep(50000);
	}
	ctl_fail(c, "%s: the protection did not end within 5 s", name);
}

int prot_move_begin(const struct ctl *c, const char *name, struct prot_move *mv)
{
	struct msg_in a;
	memset(mv, 0, sizeof(*mv));
	if (!prot_primary(c, name, mv->backup, sizeof(mv->backup), &mv->epoch_ms))
		return 0;
	fprintf(stderr, "%s is protected (shadow on %s): its protection ends for the move and starts "
	    "again from where it goes\n", name, mv->backup);
	if (unprotect_wait(c, name, &a) != RS_STOPPED)
		ctl_fail(c, "%s: ending the protection for the move failed", name);
	return mv->was = 1;
}

void prot_move_end(const struct ctl *c, const char *name, const char *to, int moved,
    const struct prot_move *mv)
{
	struct dclient d;
	struct msg_out o;
	if (!mv->was)
		return;
	rc_open(c, &d);
	msg_begin(&o, moved ? RC_HANDOFF : RC_PROTECT, ++d.seq);
	msg_add_str(&o, RA_NAME, name);
	msg_add_str(&o, RA_BACKUP, moved ? to : mv->backup);
	msg_add_u32(&o, RA_EPOCH_MS, mv->epoch_ms);
	dc_call(c, &d, &o);
	close(d.fd);
	if (moved)
		fprintf(stderr, "%s: %s's remusd protects it again (its backup: the next host with "
		    "room, not this one)\n", name, to);
	else
		fprintf(stderr, "%s stays here: protected again to %s\n", name, mv->backup);
}

int cmd_unprotect(struct ctl *c, int argc, char **argv)
{
	struct dclient d;
	struct msg_out o;
	struct msg_in a;
	if (argc != 1)
		ctl_fail(c, "usage: tandem unprotect NAME");
	rc_open(c, &d);
	msg_begin(&o, RC_UNPROTECT, ++d.seq);
	msg_add_str(&o, RA_NAME, argv[0]);
	dc_call(c, &d, &o);
	for (int i = 0; i < 100; i++) {	/* the next epoch ends it */
		size_t pos = 0;
		rc_status(c, &d, argv[0]);
		if (prot_at(c, &d.in, &pos, &a) && msg_u32(&a, RA_STATE) != RS_PROTECTED &&
		    msg_u32(&a, RA_STATE) != RS_SYNCING) {
			unsigned st = msg_u32(&a, RA_STATE);
			if (c->json) {
				printf("{\"result\":\"%s\",\"protection\":", st == RS_STOPPED ? "ok" : "failed");
				prot_json(&a, 0);
				printf("}\n");
			} else
				printf("%s: %s, running unprotected\n", argv[0], rem_state_name(st));
			return st == RS_STOPPED ? 0 : 1;
		}
		usleep(50000);
	}
	ctl_fail(c, "%s: the protection did not end within 5 s", argv[0]);
}
