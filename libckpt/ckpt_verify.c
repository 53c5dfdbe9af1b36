/*
 * ckpt_verify.c - ckpt-verify: checks a saved checkpoint stream against
 * docs/stream-format.md and prints its structure.  Exit 0 when the stream is
 * valid and complete, 1 with the offset and reason otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "version.h"

static void __attribute__((noreturn)) usage(FILE *out, int code)
{
	fprintf(out, "usage: ckpt-verify [-v] FILE|-\n"
	    "Checks a saved checkpoint stream (a file, or - for standard input) and prints\n"
	    "its records; -v prints every record.  Exit 0: valid and complete; 1: the\n"
	    "offset and the reason it is not.  See ckpt-verify(1).\n");
	exit(code);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", 0, NULL, 'h' }, { "version", 0, NULL, 'V' }, { NULL, 0, NULL, 0 },
	};
	int verbose = 0, c;
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		if (c == 'v')
			verbose = 1;
		else if (c == 'h')
			usage(stdout, 0);
		else if (c == 'V')
			print_version("ckpt-verify");
		else
			usage(stderr, 2);
	}
	if (optind + 1 != argc)
		usage(stderr, 2);
	const char *path = argv[optind];
	int fd = strcmp(path, "-") ? open(path, O_RDONLY) : 0;
	if (fd < 0) {
		fprintf(stderr, "ckpt-verify: %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct rio *r = rio_fd_open(fd, 1);
	struct ckpt_record rec = { 0 };
	struct ckpt_order ord = { 0 };
	struct ckpt_domain dom = { 0 };
	uint32_t features, enc[3] = { 0 };
	uint64_t records = 0, pages = 0, batches = 0, run_pages = 0, at = 0;
	char err[512] = "";
	int ok = 0;

	if (ckpt_read_header(r, &features) < 0) {
		snprintf(err, sizeof(err), "%s", rio_error(r));
		goto out;
	}
	printf("header: version %d, features%s\n", CKPT_VERSION, features & CKPT_F_LZ4 ? " lz4" : " none");
	for (;;) {
		at = r->bytes_read;
		if (ckpt_read_record(r, &rec) < 0) {
			snprintf(err, sizeof(err), "%s", rio_error(r));
			goto out;
		}
		records++;
		if (ckpt_order_next(&ord, rec.type, err, sizeof(err)) < 0)
			goto out;
		if (rec.type != CK_PAGE_DATA && run_pages && !verbose) {
			printf("  PAGE_DATA x%llu: %llu pages\n", (unsigned long long)batches,
			    (unsigned long long)run_pages);
			batches = run_pages = 0;
		}
		int bad = 0;
		switch (rec.type) {
		case CK_DOMAIN_HEADER:
			bad = ckpt_domain_decode(rec.body, rec.len, &dom, err, sizeof(err));
			if (bad)
				break;
			printf("DOMAIN_HEADER name=%s mem=%llu MiB vcpus=%u origin=%s guest=%s%s%s",
			    dom.name, (unsigned long long)(dom.mem >> 20), dom.vcpus, dom.origin,
			    dom.guest, dom.net[0] ? " nic=" : "", dom.net);
			for (uint32_t i = 0; i < dom.map.n; i++)	/* pfn+pages, in hex */
				printf("%s%llx+%llx", i ? "," : " map=", (unsigned long long)dom.map.e[i].pfn,
				    (unsigned long long)dom.map.e[i].pages);
			printf("\n");
			break;
		case CK_PAGE_DATA: {
			uint32_t n;
			bad = ckpt_pages_apply(rec.body, rec.len, ckpt_domain_pages(&dom), NULL, &n,
			    enc, err, sizeof(err));
			pages += n;
			run_pages += n;
			batches++;
			if (verbose && !bad)
				printf("  PAGE_DATA %u pages, %u bytes\n", n, rec.len);
			break;
		}
		case CK_ROUND: {
			struct ckpt_round rd;
			bad = ckpt_round_decode(rec.body, rec.len, &rd, err, sizeof(err));
			if (!bad)
				printf("ROUND %u: %llu pages, %llu dirty left\n", rd.round,
				    (unsigned long long)rd.pages, (unsigned long long)rd.left);
			break;
		}
		case CK_CHECKPOINT: {
			uint64_t epoch;
			bad = ckpt_u64_decode(rec.body, rec.len, &epoch, err, sizeof(err));
			if (!bad)
				printf("CHECKPOINT epoch %llu\n", (unsigned long long)epoch);
			break;
		}
		case CK_VCPU_STATE:
		case CK_DEVICE_STATE:
			printf("%s %u bytes\n", ckpt_type_name(rec.type), rec.len);
			break;
		case CK_END:
			printf("END\n");
			break;
		default:
			printf("skipping optional record type 0x%x, %u bytes\n", rec.type, rec.len);
		}
		if (bad)
			goto out;
		if (rec.type == CK_END)
			break;
	}
	char extra;
	at = r->bytes_read;
	if (read(fd, &extra, 1) > 0 || r->rlen > r->roff) {
		snprintf(err, sizeof(err), "data after END");
		goto out;
	}
	ok = 1;
out:
	if (ok)
		printf("OK: %llu records, %llu pages (raw %u, zero %u, lz4 %u), %llu bytes\n",
		    (unsigned long long)records, (unsigned long long)pages, enc[CKE_RAW],
		    enc[CKE_ZERO], enc[CKE_LZ4], (unsigned long long)r->bytes_read);
	else
		fprintf(stderr, "ckpt-verify: %s: INVALID at offset %llu: %s\n", path,
		    (unsigned long long)at, err);
	ckpt_record_free(&rec);
	rio_close(r);
	return ok ? 0 : 1;
}
