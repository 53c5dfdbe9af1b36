/*
 * test_store.c - the durable table (fencing/store.c): a table saved and
 * loaded is the same table (epoch, version, VMs, hosts, fence history); a
 * file cut at any length, with any one bit flipped, of another format, or
 * not a table at all is refused with a reason and leaves the table in
 * memory as it was; a missing file is "no table", not an error; a refused
 * file is kept aside for the admin; the save replaces the file atomically
 * (no temporary left behind).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"

static const uint32_t nodes[] = { 1, 2, 3 };

static void fill(struct table *t)
{
	table_init(t, nodes, 3);
	t->epoch = 4;
	t->version = 1234;
	for (int i = 0; i < 20; i++) {
		struct tvm *v = &t->vm[t->nvm++];
		snprintf(v->name, sizeof(v->name), "vm%d", i);
		v->owner = (uint32_t)(i % 3) + 1;
		v->gen = (uint64_t)i + 1;
		v->state = VS_RUNNING;
		v->policy = VP_RESTART;
		v->vcpus = 1;
		v->mem = 64 << 20;
		snprintf(v->kernel, sizeof(v->kernel), "/k");
		snprintf(v->cmdline, sizeof(v->cmdline), "heartbeat=%d", i);
	}
	t->host[0].status = HS_UP;
	t->host[1].status = HS_UP;
	t->host[2].status = HS_FENCED;
	t->host[2].mode = HM_MAINTENANCE;
	struct tfence f = { 99, 3, 1, 1, "fence_lab", "Success" };
	fring_push(&t->hist, &f);
}

static int same(const struct table *a, const struct table *b)
{
	if (a->epoch != b->epoch || a->version != b->version || a->nvm != b->nvm ||
	    a->nhost != b->nhost || fring_count(&a->hist) != fring_count(&b->hist))
		return 0;
	for (size_t i = 0; i < a->nvm; i++)
		if (memcmp(&a->vm[i], &b->vm[i], sizeof(a->vm[i])))
			return 0;
	for (size_t i = 0; i < a->nhost; i++)
		if (memcmp(&a->host[i], &b->host[i], sizeof(a->host[i])))
			return 0;
	const struct tfence *x = fring_get(&a->hist, 0), *y = fring_get(&b->hist, 0);	/* fields: padding */
	return x->time_ms == y->time_ms && x->node == y->node && x->by == y->by && x->ok == y->ok &&
	    !strcmp(x->method, y->method) && !strcmp(x->detail, y->detail);
}

int main(void)
{
	static struct table t, u, empty;
	char err[512], dir[] = "/tmp/tandem-store.XXXXXX", path[600];
	size_t len;

	fill(&t);
	table_init(&empty, nodes, 3);
	uint8_t *p = store_encode(&t, &len);
	CHECK(p && len > 40);

	/* round trip in memory */
	table_init(&u, nodes, 3);
	CHECK(store_decode(p, len, &u, err, sizeof(err)) == 0 && same(&t, &u));

	/* every truncation refused, nothing loaded */
	int refused = 0;
	for (size_t l = 0; l < len; l++) {
		table_init(&u, nodes, 3);
		refused += store_decode(p, l, &u, err, sizeof(err)) < 0 && same(&u, &empty);
	}
	CHECK(refused == (int)len);
	table_init(&u, nodes, 3);
	CHECK(store_decode(p, len - 1, &u, err, sizeof(err)) < 0 && strstr(err, "torn"));

	/* every single bit flip refused */
	refused = 0;
	for (size_t i = 0; i < len * 8; i++) {
		p[i / 8] ^= (uint8_t)(1u << (i % 8));
		table_init(&u, nodes, 3);
		refused += store_decode(p, len, &u, err, sizeof(err)) < 0 && same(&u, &empty);
		p[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK(refused == (int)len * 8);

	/* another format, another file */
	p[8] = 2;
	CHECK(store_decode(p, len, &u, err, sizeof(err)) < 0 && strstr(err, "format 2"));
	p[8] = 1;
	CHECK(store_decode((const uint8_t *)"hello world, this is not a table at all!!", 41, &u, err,
	    sizeof(err)) < 0 && strstr(err, "bad magic"));

	/* on disk: none, save, load, refuse and keep aside */
	CHECK(mkdtemp(dir) != NULL);
	table_init(&u, nodes, 3);
	CHECK(store_load(dir, &u, err, sizeof(err)) == 0 && same(&u, &empty));
	CHECK(store_save(dir, &t, err, sizeof(err)) == 0);
	snprintf(path, sizeof(path), "%s/table.tmp", dir);
	CHECK(access(path, F_OK) < 0);
	CHECK(store_load(dir, &u, err, sizeof(err)) == 1 && same(&t, &u));
	t.version++;
	CHECK(store_save(dir, &t, err, sizeof(err)) == 0);
	CHECK(store_load(dir, &u, err, sizeof(err)) == 1 && u.version == 1235);
	snprintf(path, sizeof(path), "%s/table", dir);
	CHECK(truncate(path, 100) == 0);
	table_init(&u, nodes, 3);
	CHECK(store_load(dir, &u, err, sizeof(err)) < 0 && strstr(err, "torn") &&
	    strstr(err, "table.refused") && same(&u, &empty));
	CHECK(access(path, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/table.refused", dir);
	CHECK(unlink(path) == 0);
	CHECK(rmdir(dir) == 0);
	free(p);
	return TAP_DONE();
}
