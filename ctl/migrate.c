/*
 * migrate.c - `tandem migrate NAME HOST[:PORT]`: asks this host's migrated
 * to move NAME, draws a progress bar that never goes backwards (percent,
 * round, rate, ETA, predicted downtime) and ends with a report, or one JSON
 * object with --json.  `tandem migrate --cancel NAME` cancels; `--status NAME`
 * shows where a migration is.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "migctl.h"

static void mc_status(const struct ctl *c, struct dclient *m, uint16_t type, const char *name)
{
	struct msg_out o;
	msg_begin(&o, type, ++m->seq);
	msg_add_str(&o, MA_NAME, name);
	dc_call(c, m, &o);
}

static double ms_opt(const struct ctl *c, int argc, char **argv, const char *name, double def)
{
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], name)) {
			char *end;
			double v = strtod(argv[i + 1], &end);
			if (*end || v < 0)
				ctl_fail(c, "bad %s '%s'", name, argv[i + 1]);
			return v;
		}
	return def;
}

static void bar(const struct msg_in *in)
{
	char phase[64];
	unsigned pm = msg_u32(in, MA_PERMILLE);
	int w = 30, fill = (int)(pm * (unsigned)w / 1000);
	fprintf(stderr, "\r[");
	for (int i = 0; i < w; i++)
		fputc(i < fill ? '#' : '-', stderr);
	fprintf(stderr, "] %5.1f%%  %-13s  %7.1f MB/s  ETA %5.1fs  downtime~%5.1fms  throttle %2u%% ",
	    pm / 10.0, msg_str(in, MA_PHASE, phase, sizeof(phase)),
	    (double)msg_u64(in, MA_RATE_BPS) / 1e6, (double)msg_u64(in, MA_ETA_MS) / 1e3,
	    (double)msg_u64(in, MA_PREDICTED_US) / 1e3, msg_u32(in, MA_THROTTLE));
}

int mig_report(const struct ctl *c, const struct msg_in *in, const char *name, const char *dest)
{
	char ppr[512], err[512], note[128];
	unsigned st = msg_u32(in, MA_STATE);
	msg_str(in, MA_PAGES_PER_ROUND, ppr, sizeof(ppr));
	msg_str(in, MA_ERRMSG, err, sizeof(err));
	msg_str(in, MA_INSECURE_NOTE, note, sizeof(note));
	double dt = (double)msg_u64(in, MA_DOWNTIME_US) / 1e3;
	if (c->json) {
		printf("{");
		json_kv_str(stdout, "result", st == MS_DONE ? "ok" : mig_state_name(st), 0);
		json_kv_str(stdout, "name", name, 1);
		json_kv_str(stdout, "dest", dest, 1);
		json_kv_f(stdout, "downtime_ms", dt, 1);
		json_kv_u64(stdout, "total_ms", msg_u64(in, MA_TOTAL_MS), 1);
		json_kv_u64(stdout, "rounds", msg_u32(in, MA_ROUND), 1);
		json_kv_u64(stdout, "bytes_sent", msg_u64(in, MA_BYTES_SENT), 1);
		json_kv_u64(stdout, "pages_sent", msg_u64(in, MA_PAGES_SENT), 1);
		printf(",\"pages_per_round\":[%s]", ppr);
		json_kv_f(stdout, "predicted_downtime_ms", (double)msg_u64(in, MA_PREDICTED_US) / 1e3, 1);
		char ph[256];
		msg_str(in, MA_DOWNTIME_PHASES, ph, sizeof(ph));
		if (ph[0]) {	/* "k=v,..." as an object of microseconds */
			printf(",\"downtime_phases_us\":{");
			for (char *tok = strtok(ph, ","); tok; tok = strtok(NULL, ",")) {
				char *eq = strchr(tok, '=');
				if (eq) {
					*eq = 0;
					printf("%s\"%s\":%s", tok == ph ? "" : ",", tok, eq + 1);
				}
			}
			printf("}");
		}
		if (err[0])
			json_kv_str(stdout, st == MS_DONE ? "note" : "error", err, 1);
		printf("}\n");
	} else if (st == MS_DONE) {
		printf("migrated %s to %s\n", name, dest);
		printf("  downtime     %.2f ms\n  total time   %llu ms\n  rounds       %u\n"
		    "  sent         %.1f MiB, %llu pages (per round: %s)\n", dt,
		    (unsigned long long)msg_u64(in, MA_TOTAL_MS), msg_u32(in, MA_ROUND),
		    (double)msg_u64(in, MA_BYTES_SENT) / 1048576.0,
		    (unsigned long long)msg_u64(in, MA_PAGES_SENT), ppr);
		if (err[0])
			printf("  note         %s\n", err);
		char ph[256];
		if (msg_str(in, MA_DOWNTIME_PHASES, ph, sizeof(ph))[0])
			printf("  downtime in  %s (us)\n", ph);
		if (note[0])
			printf("  warning      %s\n", note);
	} else
		fprintf(stderr, "tandem: migration of %s %s: %s\n", name, mig_state_name(st), err);
	return st == MS_DONE ? 0 : 1;
}

void mig_start(const struct ctl *c, struct dclient *m, const char *name, const char *dest,
    int argc, char **argv)
{
	struct msg_out o;
	msg_begin(&o, MC_START, ++m->seq);
	msg_add_str(&o, MA_NAME, name);
	msg_add_str(&o, MA_DEST, dest);
	msg_add_u64(&o, MA_DOWNTIME_BUDGET_US, (uint64_t)(ms_opt(c, argc, argv, "--downtime", 50) * 1000));
	msg_add_u64(&o, MA_MAX_DOWNTIME_US, (uint64_t)(ms_opt(c, argc, argv, "--max-downtime", 0) * 1000));
	msg_add_u64(&o, MA_MAX_TOTAL_MS, (uint64_t)(ms_opt(c, argc, argv, "--max-time", 0) * 1000));
	msg_add_u64(&o, MA_BW_MBPS, (uint64_t)ms_opt(c, argc, argv, "--bandwidth", 0));
	int lz4 = MIG_LZ4_AUTO;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--lz4"))
			lz4 = MIG_LZ4_ON;
		else if (!strcmp(argv[i], "--no-lz4"))
			lz4 = MIG_LZ4_OFF;
	msg_add_u32(&o, MA_LZ4, (uint32_t)lz4);
	dc_call(c, m, &o);
}

int cmd_migrate(struct ctl *c, int argc, char **argv)
{
	struct dclient m = { .daemon = "migrated", .schema = &migctl_schema, .err_type = MC_ERR,
		.errmsg_attr = MA_ERRMSG, .fd = -1 };
	int cancel = argc > 0 && !strcmp(argv[0], "--cancel");
	int status = argc > 0 && !strcmp(argv[0], "--status");

	if (status) {
		if (argc < 2)
			ctl_fail(c, "usage: tandem migrate --status NAME");
		dc_open(c, &m, c->migrated, "TANDEM_MIGRATED", MIGRATED_DEFAULT_SOCK);
		mc_status(c, &m, MC_STATUS, argv[1]);
		char phase[64], dest[256], err[512];
		msg_str(&m.in, MA_PHASE, phase, sizeof(phase));
		msg_str(&m.in, MA_DEST, dest, sizeof(dest));
		msg_str(&m.in, MA_ERRMSG, err, sizeof(err));
		const char *st = mig_state_name(msg_u32(&m.in, MA_STATE));
		if (c->json) {
			printf("{");
			json_kv_str(stdout, "name", argv[1], 0);
			json_kv_str(stdout, "dest", dest, 1);
			json_kv_str(stdout, "state", st, 1);
			json_kv_str(stdout, "phase", phase, 1);
			json_kv_f(stdout, "percent", msg_u32(&m.in, MA_PERMILLE) / 10.0, 1);
			if (err[0])
				json_kv_str(stdout, "error", err, 1);
			printf("}\n");
		} else
			printf("%s to %s: %s, %s, %.1f%%%s%s\n", argv[1], dest, st, phase,
			    msg_u32(&m.in, MA_PERMILLE) / 10.0, err[0] ? ": " : "", err);
		close(m.fd);
		return 0;
	}
	if (cancel) {
		argv++;
		argc--;
	}
	if (argc < (cancel ? 1 : 2) || argv[0][0] == '-')
		ctl_fail(c, "usage: tandem migrate NAME HOST[:PORT] [--downtime MS] [--max-downtime MS] "
		    "[--max-time S] [--bandwidth MBIT] [--lz4|--no-lz4] | tandem migrate --cancel|--status NAME");
	const char *name = argv[0];
	dc_open(c, &m, c->migrated, "TANDEM_MIGRATED", MIGRATED_DEFAULT_SOCK);
	if (cancel) {
		mc_status(c, &m, MC_CANCEL, name);
		if (c->json)
			printf("{\"result\":\"ok\",\"action\":\"cancel\",\"name\":\"%s\"}\n", name);
		else
			printf("%s: cancel requested\n", name);
		return 0;
	}
	char dest[300];
	struct prot_move mv;
	snprintf(dest, sizeof(dest), "%s%s", argv[1], strchr(argv[1], ':') ? "" : ":7447");
	prot_move_begin(c, name, &mv);
	mig_start(c, &m, name, dest, argc, argv);
	int tty = isatty(2) && !c->json;
	for (;;) {
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
		mc_status(c, &m, MC_STATUS, name);
		if (msg_u32(&m.in, MA_STATE) != MS_RUNNING)
			break;
		if (tty)
			bar(&m.in);
	}
	if (tty) {
		bar(&m.in);
		fputc('\n', stderr);
	}
	int r = mig_report(c, &m.in, name, dest);
	close(m.fd);
	char to[300];
	snprintf(to, sizeof(to), "%s", dest);
	if (strrchr(to, ':') && !strchr(to, ']'))
		*strrchr(to, ':') = 0;	/* its remusd, not its migrated */
	prot_move_end(c, name, to, r == 0, &mv);
	return r;
}
