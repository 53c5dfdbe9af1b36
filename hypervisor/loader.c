/*
 * loader.c - loads a guest ELF with a PVH entry note into guest memory and
 * sets up the PVH boot state: hvm_start_info with a memory map and the
 * command line, and a vCPU in flat 32-bit protected mode at the entry point
 * with EBX pointing to start_info (the contract QEMU and Xen use too).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvd.h"

#define PVH_NOTE_TYPE	18	/* XEN_ELFNOTE_PHYS32_ENTRY */
#define KERNEL_MAX	(64 << 20)
#define START_INFO_MAGIC 0x336ec578

static uint8_t *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "kernel %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > KERNEL_MAX) {
		snprintf(err, errlen, "kernel %s: not a regular file of at most %d MiB", path,
		    KERNEL_MAX >> 20);
		goto out;
	}
	*len = (size_t)st.st_size;
	if (!(buf = malloc(*len ? *len : 1)) || read(fd, buf, *len) != (ssize_t)*len) {
		snprintf(err, errlen, "kernel %s: short read", path);
		free(buf);
		buf = NULL;
	}
out:
	close(fd);
	return buf;
}

/* Finds the PVH entry in the PT_NOTE segments; 0 when there is none. */
static uint64_t pvh_entry(const uint8_t *f, size_t len, const Elf64_Phdr *ph, int n)
{
	for (int i = 0; i < n; i++) {
		if (ph[i].p_type != PT_NOTE || ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset)
			continue;
		size_t off = ph[i].p_offset, end = off + ph[i].p_filesz;
		while (end - off >= sizeof(Elf64_Nhdr)) {
			const Elf64_Nhdr *nh = (const void *)(f + off);
			size_t nsz = (nh->n_namesz + 3) & ~3U, dsz = (nh->n_descsz + 3) & ~3U;
			off += sizeof(*nh);
			if (nsz > end - off || dsz > end - off - nsz)
				break;
			if (nh->n_type == PVH_NOTE_TYPE && nh->n_namesz == 4 &&
			    !memcmp(f + off, "Xen", 4) && (nh->n_descsz == 4 || nh->n_descsz == 8)) {
				uint64_t e = 0;
				memcpy(&e, f + off + nsz, nh->n_descsz);
				return e;
			}
			off += nsz + dsz;
		}
	}
	return 0;
}

int loader_load(struct vm *vm, const char *path, const char *cmdline, uint64_t *entry,
    char *err, size_t errlen)
{
	size_t len;
	uint8_t *f = read_file(path, &len, err, errlen);
	int r = -1;

	if (!f)
		return -1;
	const Elf64_Ehdr *eh = (const void *)f;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
		snprintf(err, errlen, "kernel %s: not an ELF file", path);
		goto out;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
	    (size_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff) {
		snprintf(err, errlen, "kernel %s: not a well-formed x86-64 ELF", path);
		goto out;
	}
	const Elf64_Phdr *ph = (const void *)(f + eh->e_phoff);
	if (!(*entry = pvh_entry(f, len, ph, eh->e_phnum))) {
		snprintf(err, errlen, "kernel %s: no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)", path);
		goto out;
	}
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uint64_t pa = ph[i].p_paddr;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > len ||
		    ph[i].p_filesz > len - ph[i].p_offset) {
			snprintf(err, errlen, "kernel %s: segment %d lies outside the file", path, i);
			goto out;
		}
		uint8_t *dst = gmem_ptr(&vm->gm, pa, ph[i].p_memsz);
		if (pa < 0x100000 || !dst) {
			snprintf(err, errlen, "kernel %s: segment %d [0x%llx+0x%llx] does not fit "
			    "in guest RAM (1 MiB..%llu MiB below the MMIO hole)", path, i,
			    (unsigned long long)pa, (unsigned long long)ph[i].p_memsz,
			    (unsigned long long)(vm->gm.low >> 20));
			goto out;
		}
		memcpy(dst, f + ph[i].p_offset, ph[i].p_filesz);
		memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
	}
	if (!gmem_ptr(&vm->gm, *entry, 1)) {
		snprintf(err, errlen, "kernel %s: entry 0x%llx outside guest memory", path,
		    (unsigned long long)*entry);
		goto out;
	}

	/* start_info, memory map, command line */
	size_t cl = strlen(cmdline);
	if (cl >= GUEST_CMDLINE_MAX) {
		snprintf(err, errlen, "command line longer than %d bytes", GUEST_CMDLINE_MAX - 1);
		goto out;
	}
	uint8_t *mem = vm->gm.base;	/* the first MiB is low RAM */
	memcpy(mem + GUEST_CMDLINE, cmdline, cl + 1);
	uint8_t *si = mem + GUEST_START_INFO;
	memset(si, 0, 56);
	le32_put(si, START_INFO_MAGIC);
	le32_put(si + 4, 1);				/* version */
	le64_put(si + 24, GUEST_CMDLINE);		/* cmdline_paddr */
	le64_put(si + 40, GUEST_MEMMAP);		/* memmap_paddr */
	int high = vm->gm.size > vm->gm.low;
	le32_put(si + 48, high ? 3 : 2);		/* memmap_entries */
	uint8_t *mm = mem + GUEST_MEMMAP;
	memset(mm, 0, 72);
	le64_put(mm + 8, 0x9f000);			/* conventional memory */
	le32_put(mm + 16, 1);
	le64_put(mm + 24, 0x100000);			/* up to the MMIO hole */
	le64_put(mm + 32, vm->gm.low - 0x100000);
	le32_put(mm + 40, 1);
	if (high) {					/* from 4 GiB */
		le64_put(mm + 48, GMEM_HIGH);
		le64_put(mm + 56, vm->gm.size - vm->gm.low);
		le32_put(mm + 64, 1);
	}
	r = 0;
out:
	free(f);
	return r;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

/* The PVH entry state on the boot vCPU. */
void loader_boot_regs(struct vm *vm, uint64_t entry)
{
	struct kvm_sregs sr;
	struct kvm_regs r;
	struct vcpu *v = &vm->vcpus[0];

	ioctl(v->fd, KVM_GET_SREGS, &sr);
	seg(&sr.cs, 0x08, 0x0b);
	seg(&sr.ds, 0x10, 0x03);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.cr0 = 0x11;		/* PE | ET */
	sr.cr4 = 0;
	sr.efer = 0;
	ioctl(v->fd, KVM_SET_SREGS, &sr);
	memset(&r, 0, sizeof(r));
	r.rip = entry;
	r.rbx = GUEST_START_INFO;
	r.rflags = 0x2;
	ioctl(v->fd, KVM_SET_REGS, &r);
}
