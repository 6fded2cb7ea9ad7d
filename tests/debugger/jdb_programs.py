"""Small J1 programs the jdb tests debug."""

SESSION = """\
        .input  x, fp32, (4, 8)
        .output y, fp32, (4, 8)
        .section .sram
buf:    .space  4 * 8 * 4
        .data
counter: .dword 0
        .text
_start: li      s0, 0
        li      s1, 5
loop:   addi    s0, s0, 1
        call    bump
        blt     s0, s1, loop
        li      t0, x
        tset    d0, t0, 4, 8, fp32
        li      t0, buf
        tset    d1, t0, 4, 8, fp32
        li      t0, y
        tset    d2, t0, 4, 8, fp32
        fli     f1, 2.0
        fli     f2, 1.0
        dma.copy d1, d0
        signal  dma, sem0
        wait    activation, sem0
        act.copy d1, d1, f1, f2
        signal  activation, sem1
        wait    dma, sem1
        dma.copy d2, d1
        barrier
        mv      a0, s0
        halt
bump:   li      t1, counter
        ld      t2, 0(t1)
        addi    t2, t2, 3
        sd      t2, 0(t1)
        ret
"""

#: a loop long enough to interrupt: t0 counts up for about a billion iterations
LOOP = """\
        .text
_start: li      t0, 0
        li      t1, 1000000000
loop:   addi    t0, t0, 1
        blt     t0, t1, loop
        halt
"""
