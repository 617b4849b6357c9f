/* A tokenizer and recursive-descent parser for a small expression
 * language: generated source text ("name = expr;" statements over 32-bit
 * unsigned arithmetic with precedence, unary operators, parentheses and
 * min/max calls) is lexed into tokens, parsed into an AST and evaluated. */
#include "bench.h"

#define TEXT SIZE(3 << 20, 1 << 17)
#define PASSES SIZE(7, 1)
#define VARS 32

enum { T_NUM, T_NAME, T_OP, T_LPAREN, T_RPAREN, T_COMMA, T_ASSIGN, T_SEMI, T_END };
enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHR, OP_NEG, OP_NOT,
       OP_MIN, OP_MAX, OP_NUM, OP_VAR };

typedef struct {
    uint8_t kind, op;
    uint32_t value; /* number, variable index, or operator */
} token;

typedef struct {
    uint8_t op;
    uint32_t a, b; /* child node indices, or the value of a leaf */
} ast;

static char *text;
static uint32_t text_len;
static token *toks;
static uint32_t ntoks, tpos;
static ast *nodes;
static uint32_t nnodes;
static char names[VARS][8];

/* ---- generator ---- */

static void out(const char *s) {
    while (*s) text[text_len++] = *s++;
}

static void gen_expr(int depth) {
    uint32_t r = rng_below(depth > 5 ? 3 : 12);
    char buf[24];
    if (r == 0) {
        uint32_t v = rng_below(4) == 0 ? rng_u32() : rng_below(1000);
        snprintf(buf, sizeof buf, rng_below(3) == 0 ? "0x%" PRIx32 : "%" PRIu32, v);
        out(buf);
    } else if (r <= 2) {
        out(names[rng_below(VARS)]);
    } else if (r == 3) {
        out(rng_below(2) ? "-" : "~");
        gen_expr(depth + 1);
    } else if (r == 4) {
        out("(");
        gen_expr(depth + 1);
        out(")");
    } else if (r == 5) {
        out(rng_below(2) ? "min(" : "max(");
        gen_expr(depth + 1);
        out(", ");
        gen_expr(depth + 1);
        out(")");
    } else {
        static const char *ops[] = {" + ", " - ", " * ", " / ", " % ", " & ", " | ", " ^ ", " << ", " >> "};
        gen_expr(depth + 1);
        out(ops[rng_below(10)]);
        gen_expr(depth + 1);
    }
}

static void generate(void) {
    for (int v = 0; v < VARS; v++) {
        int n = 1 + rng_below(6);
        for (int k = 0; k < n; k++) names[v][k] = (char)('a' + rng_below(26));
        names[v][n] = 0;
        if (v > 0 && strcmp(names[v], "min") && strcmp(names[v], "max")) {
            int dup = 0;
            for (int w = 0; w < v; w++) dup |= strcmp(names[v], names[w]) == 0;
            if (!dup) continue;
        }
        snprintf(names[v], sizeof names[v], "v%d", v);
    }
    while (text_len < TEXT - 4096) {
        out(names[rng_below(VARS)]);
        out(" = ");
        gen_expr(0);
        out(";\n");
    }
    text[text_len] = 0;
}

/* ---- lexer ---- */

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static uint32_t lookup(const char *s, uint32_t n) {
    for (uint32_t v = 0; v < VARS; v++)
        if (strlen(names[v]) == n && memcmp(names[v], s, n) == 0) return v;
    if (n == 3 && memcmp(s, "min", 3) == 0) return 1000 + OP_MIN;
    if (n == 3 && memcmp(s, "max", 3) == 0) return 1000 + OP_MAX;
    printf("parser: unknown name %.*s\n", (int)n, s);
    exit(1);
}

static void lex(void) {
    ntoks = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\n') p++;
        token t = {0, 0, 0};
        char c = *p;
        if (!c) {
            t.kind = T_END;
            toks[ntoks++] = t;
            return;
        }
        if (is_digit(c)) {
            uint32_t v = 0;
            if (c == '0' && p[1] == 'x') {
                p += 2;
                for (;; p++) {
                    if (is_digit(*p)) v = v * 16 + (uint32_t)(*p - '0');
                    else if (*p >= 'a' && *p <= 'f') v = v * 16 + (uint32_t)(*p - 'a' + 10);
                    else break;
                }
            } else {
                while (is_digit(*p)) v = v * 10 + (uint32_t)(*p++ - '0');
            }
            t.kind = T_NUM;
            t.value = v;
        } else if (is_alpha(c)) {
            const char *s = p;
            while (is_alpha(*p) || is_digit(*p)) p++;
            t.kind = T_NAME;
            t.value = lookup(s, (uint32_t)(p - s));
        } else {
            p++;
            switch (c) {
            case '(': t.kind = T_LPAREN; break;
            case ')': t.kind = T_RPAREN; break;
            case ',': t.kind = T_COMMA; break;
            case ';': t.kind = T_SEMI; break;
            case '=': t.kind = T_ASSIGN; break;
            case '+': t.kind = T_OP; t.op = OP_ADD; break;
            case '-': t.kind = T_OP; t.op = OP_SUB; break;
            case '*': t.kind = T_OP; t.op = OP_MUL; break;
            case '/': t.kind = T_OP; t.op = OP_DIV; break;
            case '%': t.kind = T_OP; t.op = OP_MOD; break;
            case '&': t.kind = T_OP; t.op = OP_AND; break;
            case '|': t.kind = T_OP; t.op = OP_OR; break;
            case '^': t.kind = T_OP; t.op = OP_XOR; break;
            case '~': t.kind = T_OP; t.op = OP_NOT; break;
            case '<': t.kind = T_OP; t.op = OP_SHL; p++; break;
            case '>': t.kind = T_OP; t.op = OP_SHR; p++; break;
            default:
                printf("parser: bad character %d\n", c);
                exit(1);
            }
        }
        toks[ntoks++] = t;
    }
}

/* ---- parser: precedence climbing ---- */

static int precedence(uint8_t op) {
    switch (op) {
    case OP_MUL: case OP_DIV: case OP_MOD: return 5;
    case OP_ADD: case OP_SUB: return 4;
    case OP_SHL: case OP_SHR: return 3;
    case OP_AND: return 2;
    case OP_XOR: return 1;
    case OP_OR: return 0;
    default: return -1;
    }
}

static uint32_t node(uint8_t op, uint32_t a, uint32_t b) {
    nodes[nnodes] = (ast){op, a, b};
    return nnodes++;
}

static void expect(uint8_t kind) {
    if (toks[tpos].kind != kind) {
        printf("parser: syntax error at token %" PRIu32 "\n", tpos);
        exit(1);
    }
    tpos++;
}

static uint32_t parse_expr(int min_prec);

static uint32_t parse_primary(void) {
    token t = toks[tpos++];
    switch (t.kind) {
    case T_NUM: return node(OP_NUM, t.value, 0);
    case T_NAME:
        if (t.value >= 1000) {
            expect(T_LPAREN);
            uint32_t a = parse_expr(0);
            expect(T_COMMA);
            uint32_t b = parse_expr(0);
            expect(T_RPAREN);
            return node((uint8_t)(t.value - 1000), a, b);
        }
        return node(OP_VAR, t.value, 0);
    case T_LPAREN: {
        uint32_t e = parse_expr(0);
        expect(T_RPAREN);
        return e;
    }
    case T_OP:
        if (t.op == OP_SUB) return node(OP_NEG, parse_primary(), 0);
        if (t.op == OP_NOT) return node(OP_NOT, parse_primary(), 0);
        break;
    }
    printf("parser: unexpected token at %" PRIu32 "\n", tpos - 1);
    exit(1);
}

static uint32_t parse_expr(int min_prec) {
    uint32_t lhs = parse_primary();
    while (toks[tpos].kind == T_OP && precedence(toks[tpos].op) >= min_prec) {
        uint8_t op = toks[tpos++].op;
        uint32_t rhs = parse_expr(precedence(op) + 1);
        lhs = node(op, lhs, rhs);
    }
    return lhs;
}

/* ---- evaluator ---- */

static uint32_t vars[VARS];

static uint32_t eval(uint32_t n) {
    const ast *e = &nodes[n];
    uint32_t a, b;
    switch (e->op) {
    case OP_NUM: return e->a;
    case OP_VAR: return vars[e->a];
    case OP_NEG: return 0u - eval(e->a);
    case OP_NOT: return ~eval(e->a);
    }
    a = eval(e->a);
    b = eval(e->b);
    switch (e->op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return b ? a / b : 0;
    case OP_MOD: return b ? a % b : a;
    case OP_AND: return a & b;
    case OP_OR: return a | b;
    case OP_XOR: return a ^ b;
    case OP_SHL: return a << (b & 31);
    case OP_SHR: return a >> (b & 31);
    case OP_MIN: return a < b ? a : b;
    case OP_MAX: return a > b ? a : b;
    }
    return 0;
}

int main(void) {
    rng_seed(12);
    text = xmalloc(TEXT + 1);
    generate();
    toks = xmalloc(sizeof(token) * (TEXT + 1));
    nodes = xmalloc(sizeof(ast) * (TEXT + 1));
    uint64_t h = HASH_INIT;
    uint32_t statements = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        lex();
        tpos = 0;
        nnodes = 0;
        statements = 0;
        for (int v = 0; v < VARS; v++) vars[v] = (uint32_t)v * 2654435761u + (uint32_t)pass;
        while (toks[tpos].kind != T_END) {
            uint32_t target = toks[tpos].value;
            expect(T_NAME);
            expect(T_ASSIGN);
            uint32_t root = parse_expr(0);
            expect(T_SEMI);
            vars[target] = eval(root);
            statements++;
        }
        for (int v = 0; v < VARS; v++) h = hash_u64(h, vars[v]);
        h = hash_u64(hash_u64(h, ntoks), nnodes);
    }
    printf("parser bytes=%" PRIu32 " statements=%" PRIu32 " tokens=%" PRIu32 " nodes=%" PRIu32
           " hash=%016" PRIx64 "\n",
           text_len, statements, ntoks, nnodes, h);
    return 0;
}
