package socketio

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocsCompile compiles every ```go block of README.md and docs/*.md,
// so that the documentation cannot drift from the API.
//
// The convention, for writers of docs:
//
//   - A block that starts with "package" is a whole file, compiled as is.
//   - A block that declares a func at the start of a line holds top-level
//     declarations: it gets a package clause.
//   - Any other block is a list of statements, compiled as the body of a
//     function. Its own "import (...)" block, if it starts with one, is
//     kept; the packages it names without importing them (socketio.,
//     http., context., time.…, see docImports) are imported for it. The
//     variables srv (*socketio.Server), s (*socketio.Socket), e
//     (*socketio.Event), ctx (context.Context) and rdb (*goredis.Client)
//     exist when the block uses them without declaring them; a variable
//     the block declares but does not use is not an error.
//   - A block preceded by the line "<!-- docs: not compiled -->" is skipped.
//     Keep that rare: a block nobody compiles drifts.
func TestDocsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module with the go command")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("docs/*.md")
	files = append([]string{"README.md"}, files...)
	dir := t.TempDir()
	n := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range goBlocks(string(src)) {
			code, err := docProgram(b.code, filepath.Join(root, f), b.line)
			if err != nil {
				t.Errorf("%s:%d: %v", f, b.line, err)
				continue
			}
			pkg := fmt.Sprintf("b%03d", n)
			n++
			if err := os.MkdirAll(filepath.Join(dir, pkg), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, pkg, "doc.go"), []byte(code), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no go block found")
	}
	redisMod, err := os.ReadFile("adapters/redis/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	// The blocks may use the Redis adapters (a module of their own): the
	// test module requires what adapters/redis requires.
	mod := string(redisMod)
	mod = strings.Replace(mod, "module github.com/socketio-go/socketio/adapters/redis", "module doccheck", 1)
	mod = strings.Replace(mod, "replace github.com/socketio-go/socketio => ../..",
		"replace github.com/socketio-go/socketio => "+root+"\n\nreplace github.com/socketio-go/socketio/adapters/redis => "+filepath.Join(root, "adapters/redis")+
			"\n\nrequire github.com/socketio-go/socketio/adapters/redis v0.0.0-00010101000000-000000000000", 1)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("adapters/redis/go.sum")
	if err != nil {
		t.Fatal(err)
	}
	// And the other modules of this repository (adapters, observability):
	// required and replaced by their directories; what they require comes
	// with them (-mod=mod completes go.mod from their go.mod files), their
	// go.sum lines are added.
	var extra strings.Builder
	for _, m := range docModules {
		fmt.Fprintf(&extra, "\nrequire github.com/socketio-go/socketio/%s v0.0.0-00010101000000-000000000000\n", m)
		fmt.Fprintf(&extra, "\nreplace github.com/socketio-go/socketio/%s => %s\n", m, filepath.Join(root, m))
		s, err := os.ReadFile(filepath.Join(m, "go.sum"))
		if err != nil {
			t.Fatal(err)
		}
		sum = append(sum, s...)
	}
	mod += extra.String()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the go blocks of the docs do not compile: %v\n%s", err, out)
	}
}

type docBlock struct {
	line int // of the first line of code
	code string
}

// goBlocks returns the ```go blocks of a markdown text, except those
// marked as not compiled.
func goBlocks(md string) []docBlock {
	var (
		blocks []docBlock
		cur    *docBlock
		skip   bool
		prev   string
	)
	for i, line := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			skip = strings.TrimSpace(prev) == "<!-- docs: not compiled -->"
			cur = &docBlock{line: i + 2}
		case cur != nil && strings.TrimSpace(line) == "```":
			if !skip {
				blocks = append(blocks, *cur)
			}
			cur = nil
		case cur != nil:
			cur.code += line + "\n"
		}
		prev = line
	}
	return blocks
}

// docModules are the modules of this repository, besides the root and
// adapters/redis, that the blocks may import.
var docModules = []string{"adapters/postgres", "adapters/nats", "admin", "metrics/prometheus", "tracing/otel", "transport/webtransport"}

// docImports are the packages a block may use without importing them.
var docImports = map[string]string{
	"msgpackparser": "github.com/socketio-go/socketio/parser/msgpackparser",
	"postgres":      "github.com/socketio-go/socketio/adapters/postgres",
	"pgxpool":       "github.com/jackc/pgx/v5/pgxpool",
	"sionats":       "github.com/socketio-go/socketio/adapters/nats",
	"nats":          "github.com/nats-io/nats.go",
	"admin":         "github.com/socketio-go/socketio/admin",
	"socketioprom":  "github.com/socketio-go/socketio/metrics/prometheus",
	"socketiotel":   "github.com/socketio-go/socketio/tracing/otel",
	"socketio":      "github.com/socketio-go/socketio",
	"webtransport":  "github.com/socketio-go/socketio/transport/webtransport",
	"client":        "github.com/socketio-go/socketio/client",
	"engineio":      "github.com/socketio-go/socketio/engineio",
	"adapter":       "github.com/socketio-go/socketio/adapter",
	"sioredis":      "github.com/socketio-go/socketio/adapters/redis",
	"goredis":       "github.com/redis/go-redis/v9",
	"context":       "context",
	"errors":        "errors",
	"fmt":           "fmt",
	"http":          "net/http",
	"json":          "encoding/json",
	"log":           "log",
	"slog":          "log/slog",
	"os":            "os",
	"signal":        "os/signal",
	"time":          "time",
}

// docVars are the variables a block may use without declaring them.
var docVars = []struct{ name, typ string }{
	{"srv", "*socketio.Server"},
	{"s", "*socketio.Socket"},
	{"e", "*socketio.Event"},
	{"ctx", "context.Context"},
	{"rdb", "*goredis.Client"},
}

// docProgram turns a block of file at line into a Go file, following the
// convention of TestDocsCompile. Line directives make the compiler's errors
// point into the markdown file.
func docProgram(code, file string, line int) (string, error) {
	directive := func(line int) string { return fmt.Sprintf("\n//line %s:%d\n", file, line) }
	if strings.HasPrefix(code, "package ") {
		return directive(line)[1:] + code, nil
	}
	var imports string
	if strings.HasPrefix(code, "import") {
		end := strings.Index(code, "\n)\n")
		if end < 0 {
			return "", fmt.Errorf("unterminated import block")
		}
		imports, code = code[:end+3], code[end+3:]
		line += strings.Count(imports, "\n")
	}
	uses := func(name string) bool {
		return regexp.MustCompile(`(^|[^\w.])` + name + `\b`).MatchString(code)
	}
	var h strings.Builder
	h.WriteString("package doc\n\n")
	h.WriteString(imports)
	importedBy := func(name string) bool { return strings.Contains(imports, `"`+docImports[name]+`"`) }
	need := map[string]bool{}
	if !regexp.MustCompile(`(?m)^func `).MatchString(code) {
		var params []string
		for _, v := range docVars {
			if uses(v.name) {
				params = append(params, v.name+" "+v.typ)
				need[strings.TrimPrefix(strings.Split(v.typ, ".")[0], "*")] = true
			}
		}
		body, err := markUsed(code)
		if err != nil {
			return "", err
		}
		code = "var _ = func(" + strings.Join(params, ", ") + ") {\n{" + directive(line) + body + "}\n}\n"
	} else {
		code = directive(line) + code
	}
	names := make([]string, 0, len(docImports))
	for name := range docImports {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if (need[name] || regexp.MustCompile(`\b`+name+`\.`).MatchString(code)) && !importedBy(name) {
			fmt.Fprintf(&h, "import %s %q\n", name, docImports[name])
		}
	}
	return h.String() + code, nil
}

// markUsed appends "_ = x" for each variable the statements declare at
// their top level, so that a block may declare what it does not use.
func markUsed(stmts string) (string, error) {
	src := "package p\nfunc _() {\n" + stmts + "\n}\n"
	f, err := parser.ParseFile(token.NewFileSet(), "", src, 0)
	if err != nil {
		return "", err
	}
	var names []string
	for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, l := range st.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
						names = append(names, id.Name)
					}
				}
			}
		case *ast.DeclStmt:
			if g, ok := st.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, sp := range g.Specs {
					for _, id := range sp.(*ast.ValueSpec).Names {
						names = append(names, id.Name)
					}
				}
			}
		}
	}
	var b bytes.Buffer
	b.WriteString(stmts)
	for _, n := range names {
		fmt.Fprintf(&b, "_ = %s\n", n)
	}
	return b.String(), nil
}
