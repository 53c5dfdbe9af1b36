/*
 * control.c - hvd's control socket on the shared ctlsrv: answers HELLO
 * itself and hands domain requests to domain.c.
 */
#include "ctlsrv.h"
#include "hvd.h"

static void request(struct ctlsrv_client *c, const struct msg_in *m, const uint8_t *buf, size_t len)
{
	if (m->type == HV_HELLO) {
		struct msg_out o;
		msg_begin(&o, HV_OK, m->seq);
		msg_add_str(&o, HA_VERSION, HVD_VERSION);
		if (msg_end(&o) == 0)
			ctlsrv_reply(c, o.buf, o.len, NULL, 0);
		msg_free(&o);
		return;
	}
	domain_request(c, m, buf, len);
}

static const struct ctlsrv_conf conf = {
	&hvctl_schema, HV_OK, HV_ERR, HA_ERRNO, HA_ERRMSG, request, domain_client_gone, NULL,
};

extern struct event_base *hvd_base;

void control_setup(void)
{
	ctlsrv_set(&conf);
}

int control_init(const char *path)
{
	return ctlsrv_init(hvd_base, path, &conf);
}
