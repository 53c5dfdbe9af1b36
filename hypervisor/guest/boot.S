/*
 * boot.S - the only ring-0 code of the workload guest.
 *
 * Entered through the PVH entry (32-bit protected mode, paging off, EBX =
 * hvm_start_info).  On kvm_pvm every ring-0 instruction is emulated (~5 us),
 * so this stub does the least it can: identity-map the first 4 GiB with
 * 2 MiB user pages, enter long mode, load a GDT/TSS/IDT and iretq to ring 3,
 * where all real work runs natively.  Ring 3 reaches the I/O ports through
 * the TSS I/O permission bitmap (ports 0-2047 allowed): kvm_pvm reloads
 * RFLAGS from hardware on every exit from ring 3, so IOPL=3 does not stick
 * there, but its instruction emulator honours the bitmap, as hardware does.  Exceptions print their
 * vector on the UART and report to the exit port 0x501, then halt.
 *
 * On Xen (a PVH domU) it also asks Xen for the hypercall page and opens one
 * gate to ring 0 for ring 3, vector 0x82: Xen refuses hypercalls made from
 * ring 3 of an HVM container, so xen.c makes them through this gate (RAX =
 * hypercall number, RDI/RSI/RDX = arguments, RAX = result).
 */
#define KCODE 0x08
#define KDATA 0x10
#define UDATA 0x18
#define UCODE 0x20
#define TSSSEL 0x28
#define IOBM_BYTES 256				/* ports 0-2047 */
#define PD_PAGES 64				/* RAM mapped up to 64 GiB */
#define TSS_LIMIT (104 + IOBM_BYTES)
#define XEN_GATE 0x82				/* ring 3's way to Xen's hypercalls */

	.section .note.Xen, "a"
	.balign 4
	.long 4, 4, 18			/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long pvh_start

	.section .text.boot, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	mov	%ebx, %esi			/* keep start_info */
	/*
	 * How far RAM reaches, in 2 MiB pages, from the start_info memory map
	 * (version 1: memmap_paddr at +40, entries at +48; an entry is addr,
	 * size, type): the first 4 GiB are always mapped (the MMIO hole holds
	 * the devices), RAM above them up to PD_PAGES GiB.  Ring 0 is emulated
	 * here (~5 us an instruction), so no more is mapped than there is.
	 */
	mov	$2048, %edi
	cmpl	$1, 4(%esi)
	jb	3f
	mov	40(%esi), %ebp
	mov	48(%esi), %ecx
2:	test	%ecx, %ecx
	jz	3f
	cmpl	$1, 16(%ebp)
	jne	4f
	mov	(%ebp), %eax			/* (addr + size) >> 21 */
	mov	4(%ebp), %edx
	add	8(%ebp), %eax
	adc	12(%ebp), %edx
	shrd	$21, %edx, %eax
	cmp	%edi, %eax
	jbe	4f
	mov	%eax, %edi
4:	add	$24, %ebp
	dec	%ecx
	jmp	2b
3:	cmp	$(PD_PAGES * 512), %edi
	jbe	5f
	mov	$(PD_PAGES * 512), %edi
5:	/* pml4[0] -> pdpt; pdpt[i] -> pd[i], one per GiB */
	movl	$(pdpt + 7), pml4
	xor	%ecx, %ecx
6:	mov	%ecx, %eax
	shl	$12, %eax
	add	$(pd + 7), %eax
	mov	%eax, pdpt(,%ecx,8)
	inc	%ecx
	mov	%ecx, %eax
	shl	$9, %eax
	cmp	%edi, %eax
	jb	6b
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$21, %eax
	or	$0x87, %eax			/* present, rw, user, 2 MiB */
	mov	%ecx, %edx
	shr	$11, %edx
	mov	%eax, pd(,%ecx,8)
	mov	%edx, pd+4(,%ecx,8)
	inc	%ecx
	cmp	%edi, %ecx
	jb	1b
	mov	$0x620, %eax			/* PAE | OSFXSR | OSXMMEXCPT */
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	$0x80010023, %eax		/* PG | WP | NE | MP | PE */
	mov	%eax, %cr0
	lgdt	gdt_ptr
	ljmp	$KCODE, $long_entry

	.code64
long_entry:
	mov	$KDATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	xor	%eax, %eax
	mov	%ax, %fs
	mov	%ax, %gs
	lea	kstack_top(%rip), %rsp
	/* TSS descriptor: base is split across the descriptor */
	lea	tss(%rip), %rax
	mov	%rax, %rbx
	shl	$16, %rbx
	movabs	$0xffffff0000, %rdx
	and	%rdx, %rbx
	mov	%rax, %rdx
	shr	$24, %rdx
	shl	$56, %rdx
	or	%rdx, %rbx
	mov	$(0x0000890000000000 + TSS_LIMIT), %rdx	/* present, 64-bit TSS */
	or	%rdx, %rbx
	mov	%rbx, gdt + TSSSEL(%rip)
	shr	$32, %rax
	mov	%rax, gdt + TSSSEL + 8(%rip)
	lea	kstack_top(%rip), %rax
	mov	%rax, tss + 4(%rip)		/* rsp0 */
	movw	$104, tss + 102(%rip)		/* I/O bitmap right after the TSS */
	movb	$0xff, tss + 104 + IOBM_BYTES(%rip)	/* bitmap terminator */
	mov	$TSSSEL, %ax
	ltr	%ax
	/* IDT: 32 interrupt gates to isr stubs spaced 16 bytes apart */
	lea	isr_table(%rip), %rax
	lea	idt(%rip), %rdi
	xor	%ecx, %ecx
2:	mov	$0x8e00, %r8d			/* present, ring 0, interrupt gate */
	call	set_gate
	add	$16, %rax
	add	$16, %rdi
	inc	%ecx
	cmp	$32, %ecx
	jb	2b
	lidt	idt_ptr(%rip)
	/*
	 * Hypervisor leaves are read here: kvm_pvm traps CPUID only in ring 0
	 * (ring 3 CPUID runs natively unless the host has CPUID faulting).
	 */
	mov	$0x40000000, %eax
	xor	%ecx, %ecx
	cpuid
	/* Xen ("XenVMMXenVMM"): its console is the debug port, its TSC rate
	 * is leaf 0x40000003's ECX */
	cmp	$0x566e6558, %ebx
	jne	5f
	cmp	$0x65584d4d, %ecx
	jne	5f
	cmp	$0x4d4d566e, %edx
	jne	5f
	movl	$1, boot_on_xen(%rip)
	mov	$0x40000003, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%ecx, boot_tsc_khz(%rip)
	/* the hypercall page: its address written to the MSR leaf 0x40000002
	 * names (EBX); Xen fills the page with one 32-byte stub per call */
	mov	$0x40000002, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%ebx, %ecx
	lea	hypercall_page(%rip), %rax
	mov	%rax, %rdx
	shr	$32, %rdx
	wrmsr
	/* the gate: an interrupt gate of DPL 3 */
	lea	xen_gate(%rip), %rax
	lea	idt + XEN_GATE * 16(%rip), %rdi
	mov	$0xee00, %r8d
	call	set_gate
	jmp	4f
5:	cmp	$0x40000010, %eax
	jb	4f
	mov	$0x40000010, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%eax, boot_tsc_khz(%rip)
4:
	/* to ring 3 with IOPL=3, interrupts off */
	mov	%rsi, %rdi
	pushq	$(UDATA | 3)
	lea	ustack_top - 8(%rip), %rax	/* as if called: rsp+8 16-aligned */
	push	%rax
	pushq	$0x3002
	pushq	$(UCODE | 3)
	lea	guest_main(%rip), %rax
	push	%rax
	iretq

	/* set_gate: the IDT entry at RDI for the handler at RAX, type and
	 * DPL in R8 (0x8e00, 0xee00); clobbers RBX and RDX */
set_gate:
	mov	%rax, %rbx
	and	$0xffff, %ebx
	or	$(KCODE << 16), %rbx
	mov	%rax, %rdx
	shr	$16, %rdx
	shl	$48, %rdx
	or	%rdx, %rbx
	mov	%r8, %rdx
	shl	$32, %rdx
	or	%rdx, %rbx
	mov	%rbx, (%rdi)
	mov	%rax, %rdx
	shr	$32, %rdx
	mov	%rdx, 8(%rdi)
	ret

	.balign 16
isr_table:
	.set	vec, 0
	.rept	32
	.balign	16
	pushq	$vec
	jmp	isr_common
	.set	vec, vec + 1
	.endr

isr_common:
	pop	%rbx				/* vector */
	mov	$0x3f8, %dx
	mov	$'!', %al
	out	%al, %dx
	mov	$'E', %al
	out	%al, %dx
	mov	%bl, %al
	shr	$4, %al
	add	$'A', %al
	out	%al, %dx
	mov	%bl, %al
	and	$15, %al
	add	$'A', %al
	out	%al, %dx
	mov	$'\n', %al
	out	%al, %dx
	mov	$0x501, %dx
	mov	%bl, %al
	or	$0x80, %al
	out	%al, %dx
3:	hlt
	jmp	3b

	/* int $XEN_GATE from ring 3: the hypercall RAX through Xen's page */
xen_gate:
	shl	$5, %rax
	lea	hypercall_page(%rip), %rcx
	add	%rcx, %rax
	call	*%rax
	iretq

	.section .data
	.globl	boot_tsc_khz
	.balign	4
boot_tsc_khz:
	.long	0				/* CPUID 0x40000010 EAX, 0 if absent */
	.globl	boot_on_xen
boot_on_xen:
	.long	0				/* 1: running as a Xen PVH domU */
	.balign 16
gdt:
	.quad	0
	.quad	0x00af9a000000ffff		/* kernel code 64 */
	.quad	0x00cf92000000ffff		/* kernel data */
	.quad	0x00cff2000000ffff		/* user data */
	.quad	0x00affa000000ffff		/* user code 64 */
	.quad	0, 0				/* TSS, filled at run time */
gdt_end:
gdt_ptr:
	.word	gdt_end - gdt - 1
	.quad	gdt
idt_ptr:
	.word	256 * 16 - 1
	.quad	idt

	.section .bss
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip PD_PAGES * 4096
hypercall_page:
	.skip 4096				/* Xen's: filled when asked for */
idt:	.skip 256 * 16
	.balign 16
tss:	.skip 104 + IOBM_BYTES + 1		/* zero bits: ports allowed */
	.balign 16
	.skip 8192
kstack_top:
	.balign 16
	.skip 65536
	.globl ustack_top
ustack_top:
