/*
 * test_config.c - tandem.conf's parser (common/config.c): every statement
 * parses into its field and its bad forms are refused with FILE:LINE; a
 * refused file leaves the struct it was to fill untouched (so a reload
 * never half-applies); conf_changed names exactly the groups that differ;
 * and every keyword the grammar knows is documented in tandem.conf(5), and
 * every keyword documented there exists ($SRC: the source tree).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char dir[] = "/tmp/tandem-conf.XXXXXX";

static int load(struct fconf *c, const char *text, char *err, size_t el)
{
	char path[64];
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return conf_load(c, path, err, el);
}

static int refused(const char *text, const char *want)
{
	struct fconf c;
	char err[512] = "";
	memset(&c, 0x5a, sizeof(c));
	int r = load(&c, text, err, sizeof(err));
	int untouched = ((unsigned char *)&c)[0] == 0x5a && ((unsigned char *)&c)[sizeof(c) - 1] == 0x5a;
	if (r == 0 || !strstr(err, want) || !untouched)
		fprintf(stderr, "  '%s': r=%d err='%s' (wanted '%s') untouched=%d\n", text, r, err, want,
		    untouched);
	return r < 0 && strstr(err, want) && untouched;
}

/* each keyword of the grammar is an item of tandem.conf(5), and each item is a keyword */
static void documented(const char *src)
{
	char path[512], line[1024], prev[1024] = "";
	char doc[64][64];
	int ndoc = 0;
	snprintf(path, sizeof(path), "%s/docs/man/tandem.conf.5", src);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char w[64];
		if (!strncmp(prev, ".TP", 3) && sscanf(line, ".B %63s", w) == 1 && ndoc < 64) {
			/* "fence\-level" in roff */
			char *o = doc[ndoc];
			for (const char *s = w; *s && o < doc[ndoc] + 63; s++)
				if (*s != '\\')
					*o++ = *s;
			*o = 0;
			ndoc++;
		}
		snprintf(prev, sizeof(prev), "%s", line);
	}
	fclose(f);
	size_t nkw = 0;
	for (const char *k; (k = conf_keyword(nkw)); nkw++) {
		int found = 0;
		for (int i = 0; i < ndoc; i++)
			found |= !strcmp(doc[i], k);
		if (!found)
			fprintf(stderr, "  keyword '%s' is not documented in tandem.conf(5)\n", k);
		CHECK(found);
	}
	for (int i = 0; i < ndoc; i++) {
		int known = 0;
		for (size_t k = 0; k < nkw; k++)
			known |= !strcmp(doc[i], conf_keyword(k));
		if (!known)
			fprintf(stderr, "  tandem.conf(5) documents '%s', which the parser does not know\n",
			    doc[i]);
		CHECK(known);
	}
	CHECK(nkw == 14);
}

int main(void)
{
	struct fconf c, d;
	char err[512];

	if (!mkdtemp(dir))
		return 1;
	/* the good forms */
	CHECK(load(&c, "host 1 a 10.0.0.1 mem=2G\nhost 2 b 10.0.0.2\n"
	    "fence-level 2 /bin/false x=1\nfence-level 1 /bin/true hosts=a\n"
	    "fence-timeout 500\nstorm-share 30\nself-fence 900ms\nwatchdog /dev/wd1\n"
	    "heartbeat /k port=9 interval=4 lost=20\nhypervisor xen:\n"
	    "tls cert=/c key=/k ca=/a crl=/r\ncontrol-cpu 1\n"
	    "hvd socket=/s/h state=/v backing=shmem\nmigrated socket=/s/m listen=:1 state=/m\n"
	    "remusd socket=/s/r listen=1.2.3.4:5 state=/r epoch=10\n"
	    "fenced socket=/s/f state=/f metrics=127.0.0.1:9473  # a comment\n", err, sizeof(err)) == 0);
	CHECK(!strcmp(c.fenced.metrics, "127.0.0.1:9473"));
	CHECK(c.nhosts == 2 && c.hosts[0].mem == 2ULL << 30 && c.hosts[1].mem > 0);
	CHECK(c.nlevels == 2 && c.levels[0].n == 1 && c.levels[0].hosts == 1 && c.levels[1].nargs == 1);
	CHECK(c.fence_timeout_ms == 500 && c.storm_pct == 30 && c.self_fence_ms == 900);
	CHECK(!strcmp(c.watchdog, "/dev/wd1") && c.hb_port == 9 && c.hb_interval_ms == 4 &&
	    c.hb_lost_ms == 20);
	CHECK(!strcmp(c.hypervisor, "xen:") && !strcmp(c.tls.crl, "/r") && !c.tls.insecure);
	CHECK(!strcmp(c.control_cpu, "1") && !strcmp(c.backing, "shmem"));
	CHECK(!strcmp(c.hvd.socket, "/s/h") && !strcmp(c.migrated.listen, ":1") &&
	    !strcmp(c.remusd.listen, "1.2.3.4:5") && c.epoch_ms == 10 && !strcmp(c.fenced.state, "/f"));
	char uri[300];
	CHECK(!strcmp(conf_hv_uri(&c, uri, sizeof(uri)), "xen:") && !strcmp(conf_hvd_socket(&c), "/s/h"));
	/* defaults, and the hvd socket from an hvd: hypervisor */
	CHECK(load(&d, "hypervisor hvd:/x/h.sock\ntls insecure\n", err, sizeof(err)) == 0);
	CHECK(d.nhosts == 0 && d.fence_timeout_ms == 10000 && d.storm_pct == 50 && d.tls.insecure);
	CHECK(!strcmp(conf_fenced_socket(&c, "dflt"), "/s/f") && !conf_fenced_socket(&d, "dflt"));
	CHECK(!strcmp(conf_hvd_socket(&d), "/x/h.sock") && !strcmp(conf_or(NULL, "", "def"), "def") &&
	    !strcmp(conf_or("flag", "file", "def"), "flag") && !strcmp(conf_or(NULL, "file", "d"), "file"));

	/* the bad forms: FILE:LINE and the reason, the struct untouched */
	CHECK(refused("host 1 a 10.0.0.1\nbogus\n", "t.conf:2: unknown statement 'bogus'"));
	CHECK(refused("host 1 a 10.0.0.1\nhost 1 b 10.0.0.2\n", ":2: host b (node 1) given twice"));
	CHECK(refused("host 0 a 10.0.0.1\n", ":1: bad node id"));
	CHECK(refused("host 1 a 10.0.0.1 mem=lots\n", ":1: bad 'mem=lots'"));
	CHECK(refused("fence-level 1 /bin/true hosts=zz\n", ":1: fence-level 1 names unknown host 'zz'"));
	CHECK(refused("fence-level 1 /bin/true novalue\n", ":1: 'novalue' is not key=value"));
	CHECK(refused("fence-timeout 0\n", ":1: usage: fence-timeout MILLISECONDS (1 to 3600000)"));
	CHECK(refused("storm-share 101\n", ":1: usage: storm-share PERCENT"));
	CHECK(refused("self-fence 5\nself-fence 6\n", ":2: 'self-fence' given twice (first on line 1)"));
	CHECK(refused("heartbeat /k lost=10 interval=5\n", "under three intervals"));
	CHECK(refused("heartbeat /k colour=1\n", "usage: heartbeat KEYFILE"));
	CHECK(refused("hypervisor kvm:\n", "unknown hypervisor 'kvm:'"));
	CHECK(refused("hypervisor xen:a/b\n", "xen:TAG takes a tag of up to 16"));
	CHECK(load(&d, "hypervisor xen:h1\n", err, sizeof(err)) == 0 && !strcmp(d.hypervisor, "xen:h1"));
	CHECK(refused("tls cert=/c key=/k\n", "tls needs cert=, key= and ca="));
	CHECK(refused("tls cert=/c cert=/d key=/k ca=/a\n", "tls cert= given twice"));
	CHECK(refused("control-cpu many\n", "usage: control-cpu CPU|none|auto"));
	CHECK(refused("hvd backing=ram\n", "backing=ram: auto, hugetlb or shmem"));
	CHECK(refused("hvd colour=red\n", "unknown 'colour=red'"));
	CHECK(refused("migrated listen=\n", "listen '' is empty or too long"));
	CHECK(refused("remusd epoch=4\n", "an epoch is 5 to 10000 ms"));
	CHECK(refused("remusd listen=7448\n", "remusd listen=7448: [ADDRESS]:PORT"));
	CHECK(refused("fenced metrics=:9470\n", "fenced metrics=:9470: ADDRESS:PORT"));
	CHECK(refused("hvd metrics=127.0.0.1:70000\n", "hvd metrics=127.0.0.1:70000: ADDRESS:PORT"));
	CHECK(refused("fenced socket=/a socket=/b\n", "fenced socket= given twice"));
	char longline[5000];
	memset(longline, 'x', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = 0;
	CHECK(refused(longline, ":1: line longer than"));
	struct fconf e;
	CHECK(conf_load(&e, "/nonexistent/tandem.conf", err, sizeof(err)) < 0 &&
	    strstr(err, "No such file or directory (tandem.conf(5)"));
	CHECK(conf_load_default(&e, "/nonexistent/tandem.conf", err, sizeof(err)) == -1);
	CHECK(conf_load_default(&e, "none", err, sizeof(err)) == 0 && e.fence_timeout_ms == 10000);
	setenv("TANDEM_CONF", "none", 1);
	CHECK(conf_load_default(&e, NULL, err, sizeof(err)) == 0 && !e.path[0]);
	unsetenv("TANDEM_CONF");

	/* what a reload compares */
	CHECK(load(&d, "host 1 a 10.0.0.1 mem=2G\nhost 2 b 10.0.0.2\n"
	    "fence-level 2 /bin/false x=1\nfence-level 1 /bin/true hosts=a\n"
	    "fence-timeout 600\nstorm-share 30\nself-fence 900ms\nwatchdog /dev/wd1\n"
	    "heartbeat /k port=9 interval=4 lost=20\nhypervisor xen:\n"
	    "tls cert=/c key=/k ca=/a crl=/r\ncontrol-cpu 1\n"
	    "hvd socket=/s/h state=/v backing=shmem\nmigrated socket=/s/m listen=:1 state=/m\n"
	    "remusd socket=/s/r listen=1.2.3.4:5 state=/r epoch=20\n"
	    "fenced socket=/s/f state=/f metrics=127.0.0.1:9473\n", err, sizeof(err)) == 0);
	CHECK(conf_changed(&c, &d) == (CFG_TIMERS | CFG_REMUSD));
	CHECK(conf_changed(&c, &c) == 0);
	d = c;
	d.hosts[1].addr[0] = 'X';
	d.levels[0].nargs++;
	CHECK(conf_changed(&c, &d) == (CFG_HOSTS | CFG_LEVELS));
	conf_group_names(CFG_HOSTS | CFG_TLS, err, sizeof(err));
	CHECK(!strcmp(err, "host, tls"));
	conf_group_names(0, err, sizeof(err));
	CHECK(!strcmp(err, "nothing"));

	const char *src = getenv("SRC");
	if (src)
		documented(src);
	else
		printf("SRC unset: tandem.conf(5) not checked\n");
	char path[64];
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	unlink(path);
	rmdir(dir);
	return TAP_DONE();
}
