/* A register-machine interpreter whose dispatch goes through a table of
 * handler functions (one indirect call per instruction: call_indirect in
 * wasm). It runs three programs assembled at start-up: a prime sieve, the
 * Collatz total stopping times and a table-driven hash loop. */
#include "bench.h"

#define SIEVE SIZE(3000000, 50000)
#define COLLATZ SIZE(80000, 10000) /* trajectories stay below 2^32 */
#define HASH_ITERS SIZE(8000000, 100000)
#define MEM_WORDS (SIEVE + 1024)

typedef struct {
    uint8_t op, a, b, c;
    int32_t imm;
} insn;

typedef struct vm {
    uint32_t reg[16];
    uint32_t *mem;
    const insn *code;
    uint64_t steps;
} vm;

/* Each handler executes one instruction and returns the next pc. */
typedef uint32_t (*handler)(vm *, uint32_t pc);

#define I (m->code[pc])
#define R(x) (m->reg[I.x])

static uint32_t op_halt(vm *m, uint32_t pc) { (void)m; return pc; }
static uint32_t op_li(vm *m, uint32_t pc) { R(a) = (uint32_t)I.imm; return pc + 1; }
static uint32_t op_mov(vm *m, uint32_t pc) { R(a) = R(b); return pc + 1; }
static uint32_t op_add(vm *m, uint32_t pc) { R(a) = R(b) + R(c); return pc + 1; }
static uint32_t op_addi(vm *m, uint32_t pc) { R(a) = R(b) + (uint32_t)I.imm; return pc + 1; }
static uint32_t op_sub(vm *m, uint32_t pc) { R(a) = R(b) - R(c); return pc + 1; }
static uint32_t op_mul(vm *m, uint32_t pc) { R(a) = R(b) * R(c); return pc + 1; }
static uint32_t op_muli(vm *m, uint32_t pc) { R(a) = R(b) * (uint32_t)I.imm; return pc + 1; }
static uint32_t op_and(vm *m, uint32_t pc) { R(a) = R(b) & R(c); return pc + 1; }
static uint32_t op_andi(vm *m, uint32_t pc) { R(a) = R(b) & (uint32_t)I.imm; return pc + 1; }
static uint32_t op_xor(vm *m, uint32_t pc) { R(a) = R(b) ^ R(c); return pc + 1; }
static uint32_t op_shri(vm *m, uint32_t pc) { R(a) = R(b) >> (I.imm & 31); return pc + 1; }
static uint32_t op_shli(vm *m, uint32_t pc) { R(a) = R(b) << (I.imm & 31); return pc + 1; }
static uint32_t op_rotli(vm *m, uint32_t pc) {
    uint32_t v = R(b), s = (uint32_t)I.imm & 31;
    R(a) = s ? (v << s) | (v >> (32 - s)) : v;
    return pc + 1;
}
static uint32_t op_ltu(vm *m, uint32_t pc) { R(a) = R(b) < R(c); return pc + 1; }
static uint32_t op_load(vm *m, uint32_t pc) { R(a) = m->mem[(R(b) + (uint32_t)I.imm) % MEM_WORDS]; return pc + 1; }
static uint32_t op_store(vm *m, uint32_t pc) { m->mem[(R(b) + (uint32_t)I.imm) % MEM_WORDS] = R(a); return pc + 1; }
static uint32_t op_jmp(vm *m, uint32_t pc) { (void)m; return pc + (uint32_t)I.imm; }
static uint32_t op_jz(vm *m, uint32_t pc) { return R(a) == 0 ? pc + (uint32_t)I.imm : pc + 1; }
static uint32_t op_jnz(vm *m, uint32_t pc) { return R(a) != 0 ? pc + (uint32_t)I.imm : pc + 1; }
static uint32_t op_jltu(vm *m, uint32_t pc) { return R(a) < R(b) ? pc + (uint32_t)I.imm : pc + 1; }

enum { HALT, LI, MOV, ADD, ADDI, SUB, MUL, MULI, AND, ANDI, XOR, SHRI, SHLI, ROTLI, LTU, LOAD, STORE,
       JMP, JZ, JNZ, JLTU, NOPS };

static const handler handlers[NOPS] = {
    op_halt, op_li, op_mov, op_add, op_addi, op_sub, op_mul, op_muli, op_and, op_andi, op_xor,
    op_shri, op_shli, op_rotli, op_ltu, op_load, op_store, op_jmp, op_jz, op_jnz, op_jltu,
};

static void run(vm *m) {
    uint32_t pc = 0;
    uint64_t steps = 0;
    for (;;) {
        uint32_t next = handlers[m->code[pc].op](m, pc);
        steps++;
        if (next == pc) break; /* halt */
        pc = next;
    }
    m->steps += steps;
}

#define OP(o, a, b, c, imm) ((insn){o, a, b, c, imm})

/* r1 = number of primes below SIEVE (mem[i] = 1 marks a composite). */
static const insn sieve[] = {
    OP(LI, 2, 0, 0, 2),             /* 0: i = 2 */
    OP(LI, 3, 0, 0, SIEVE),         /* 1: n */
    OP(LI, 1, 0, 0, 0),             /* 2: count = 0 */
    OP(JLTU, 2, 3, 0, 2),           /* 3: loop: if i < n goto 5 */
    OP(HALT, 0, 0, 0, 0),           /* 4 */
    OP(LOAD, 4, 2, 0, 0),           /* 5: c = mem[i] */
    OP(JNZ, 4, 0, 0, 12),           /* 6: composite -> 18 */
    OP(ADDI, 1, 1, 0, 1),           /* 7: count++ */
    OP(LI, 8, 0, 0, 65536),         /* 8: i * i must not wrap */
    OP(JLTU, 2, 8, 0, 2),           /* 9: if i < 65536 goto 11 */
    OP(JMP, 0, 0, 0, 8),            /* 10: -> 18 */
    OP(MUL, 5, 2, 2, 0),            /* 11: j = i * i */
    OP(LI, 6, 0, 0, 1),             /* 12: one */
    OP(JLTU, 5, 3, 0, 2),           /* 13: inner: if j < n goto 15 */
    OP(JMP, 0, 0, 0, 4),            /* 14: -> 18 */
    OP(STORE, 6, 5, 0, 0),          /* 15: mem[j] = 1 */
    OP(ADD, 5, 5, 2, 0),            /* 16: j += i */
    OP(JMP, 0, 0, 0, -4),           /* 17: -> 13 */
    OP(ADDI, 2, 2, 0, 1),           /* 18: i++ */
    OP(JMP, 0, 0, 0, -16),          /* 19: -> 3 */
};

/* r1 = sum of Collatz stopping times of 1..COLLATZ-1. */
static const insn collatz[] = {
    OP(LI, 2, 0, 0, 1),             /* 0: k = 1 */
    OP(LI, 3, 0, 0, COLLATZ),       /* 1 */
    OP(LI, 1, 0, 0, 0),             /* 2: total */
    OP(JLTU, 2, 3, 0, 2),           /* 3: if k < n goto 5 */
    OP(HALT, 0, 0, 0, 0),           /* 4 */
    OP(MOV, 4, 2, 0, 0),            /* 5: x = k */
    OP(LI, 7, 0, 0, 1),             /* 6: one */
    OP(JLTU, 7, 4, 0, 3),           /* 7: while 1 < x goto 10 */
    OP(ADDI, 2, 2, 0, 1),           /* 8: k++ */
    OP(JMP, 0, 0, 0, -6),           /* 9: -> 3 */
    OP(ANDI, 5, 4, 0, 1),           /* 10: odd? */
    OP(ADDI, 1, 1, 0, 1),           /* 11: total++ */
    OP(JNZ, 5, 0, 0, 3),            /* 12: -> 15 */
    OP(SHRI, 4, 4, 0, 1),           /* 13: x /= 2 */
    OP(JMP, 0, 0, 0, -7),           /* 14: -> 7 */
    OP(MULI, 4, 4, 0, 3),           /* 15: x = 3x */
    OP(ADDI, 4, 4, 0, 1),           /* 16: x += 1 */
    OP(JMP, 0, 0, 0, -10),          /* 17: -> 7 */
};

/* r1 = a multiply-rotate-xor hash over a table in memory, updated as it goes. */
static const insn hashloop[] = {
    OP(LI, 2, 0, 0, 0),             /* 0: i = 0 */
    OP(LI, 3, 0, 0, HASH_ITERS),    /* 1 */
    OP(LI, 1, 0, 0, 0x12345),       /* 2: h */
    OP(JLTU, 2, 3, 0, 2),           /* 3: if i < n goto 5 */
    OP(HALT, 0, 0, 0, 0),           /* 4 */
    OP(ANDI, 4, 1, 0, 1023),        /* 5: slot = h & 1023 */
    OP(LOAD, 5, 4, 0, 0),           /* 6: t = mem[slot] */
    OP(XOR, 1, 1, 5, 0),            /* 7: h ^= t */
    OP(MULI, 1, 1, 0, (int32_t)0x9E3779B1), /* 8 */
    OP(ROTLI, 1, 1, 0, 13),         /* 9 */
    OP(ADD, 5, 5, 2, 0),            /* 10: t += i */
    OP(STORE, 5, 4, 0, 0),          /* 11: mem[slot] = t */
    OP(ADDI, 2, 2, 0, 1),           /* 12: i++ */
    OP(JMP, 0, 0, 0, -10),          /* 13: -> 3 */
};

int main(void) {
    vm m = {{0}, xmalloc(sizeof(uint32_t) * MEM_WORDS), NULL, 0};
    uint64_t h = HASH_INIT;

    memset(m.mem, 0, sizeof(uint32_t) * MEM_WORDS);
    m.code = sieve;
    run(&m);
    uint32_t primes = m.reg[1];
    h = hash_u64(h, primes);

    m.code = collatz;
    run(&m);
    uint32_t stops = m.reg[1];
    h = hash_u64(h, stops);

    for (uint32_t i = 0; i < 1024; i++) m.mem[i] = i * 2654435761u;
    m.code = hashloop;
    run(&m);
    h = hash_u64(h, m.reg[1]);

    printf("interp primes=%" PRIu32 " collatz=%" PRIu32 " hash=%08" PRIx32 " steps=%" PRIu64 " check=%016" PRIx64
           "\n",
           primes, stops, m.reg[1], m.steps, h);
    free(m.mem);
    return 0;
}
