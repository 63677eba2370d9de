package lint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// allowed lists functions that may still exceed MaxFuncLines, keyed by
// "dir/file.go:Name" (Recv.Name for methods). An entry that is no longer
// too long is logged, to be removed.
var allowed = map[string]bool{
	// Empty: every function is within the limit. An entry names a function
	// ("dir/file.go:Func") being split; each goes as its function is split.
}

// Flat-switch exemption limits: see isFlatSwitch.
const (
	maxAroundSwitch = 6  // lines of statements before and after the switch, together
	maxCaseLines    = 12 // lines of one case clause, its case line included
)

// longFunc is one function over the limit.
type longFunc struct {
	key   string // dir/file.go:Name
	lines int
}

func TestFunctionLength(t *testing.T) {
	root := moduleRoot(t)
	long := scan(t, root)
	seen := map[string]bool{}
	var bad []string
	for _, f := range long {
		seen[f.key] = true
		if !allowed[f.key] {
			bad = append(bad, fmt.Sprintf("%s (%d lines)", f.key, f.lines))
		}
	}
	for key := range allowed {
		if !seen[key] {
			t.Logf("%s is allowed but no longer too long: remove it from allowed", key)
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("functions over %d lines that are not one flat switch:\n\t%s",
			MaxFuncLines, strings.Join(bad, "\n\t"))
	}
}

// scan parses every non-test .go file under root and returns the functions
// over the limit, sorted by key.
func scan(t *testing.T, root string) []longFunc {
	t.Helper()
	fset := token.NewFileSet()
	var long []longFunc
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution|parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(file) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			n := span(fset, fn)
			if n > MaxFuncLines && !isFlatSwitch(fset, fn.Body) {
				long = append(long, longFunc{filepath.ToSlash(rel) + ":" + funcName(fn), n})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(long, func(i, j int) bool { return long[i].key < long[j].key })
	return long
}

// isFlatSwitch reports whether body is one flat switch: exactly one of its
// top-level statements is a switch or type switch; the other statements are
// not blocks (no if, for, select, nested block or further switch) and span
// at most maxAroundSwitch lines together; and every case clause spans at
// most maxCaseLines lines and holds no switch, type switch or select of its
// own. Such a function reads as a table however long it is.
func isFlatSwitch(fset *token.FileSet, body *ast.BlockStmt) bool {
	var sw ast.Stmt
	around := 0
	for _, s := range body.List {
		switch s.(type) {
		case *ast.SwitchStmt, *ast.TypeSwitchStmt:
			if sw != nil {
				return false
			}
			sw = s
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt, *ast.SelectStmt, *ast.BlockStmt, *ast.LabeledStmt:
			return false
		default:
			around += span(fset, s)
		}
	}
	if sw == nil || around > maxAroundSwitch {
		return false
	}
	var clauses *ast.BlockStmt
	switch s := sw.(type) {
	case *ast.SwitchStmt:
		clauses = s.Body
	case *ast.TypeSwitchStmt:
		clauses = s.Body
	}
	for _, c := range clauses.List {
		if span(fset, c) > maxCaseLines || hasBranching(c) {
			return false
		}
	}
	return true
}

// hasBranching reports whether n holds a switch, type switch or select.
func hasBranching(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		switch m.(type) {
		case *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
			found = true
		}
		return !found
	})
	return found
}

// span is the number of lines n covers, first and last included.
func span(fset *token.FileSet, n ast.Node) int {
	return fset.Position(n.End()).Line - fset.Position(n.Pos()).Line + 1
}

// funcName is Name for a function and Recv.Name for a method (pointer and
// type parameters dropped).
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	t := fn.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fn.Name.Name
	}
	return fn.Name.Name
}

// moduleRoot is the nearest directory above the test's own holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// TestIsFlatSwitch checks the exemption on small bodies, so that the rule
// itself can be seen to pass and to fail.
func TestIsFlatSwitch(t *testing.T) {
	cases := []struct {
		name string
		body string
		want bool
	}{
		{"one switch", "switch x {\ncase 1:\n\ty()\ncase 2:\n\tz()\n}", true},
		{"type switch after a line, then return", "y := x\nswitch v := y.(type) {\ncase int:\n\t_ = v\n}\nreturn", true},
		{"no switch", "y()\nz()", false},
		{"two switches", "switch {\n}\nswitch {\n}", false},
		{"an if beside the switch", "if x {\n}\nswitch {\n}", false},
		{"nested switch", "switch {\ncase true:\n\tswitch {\n\t}\n}", false},
		{"select in a case", "switch {\ncase true:\n\tselect {\n\t}\n}", false},
		{"long case", "switch {\ncase true:\n" + strings.Repeat("\ty()\n", maxCaseLines) + "}", false},
		{"long prelude", strings.Repeat("y()\n", maxAroundSwitch+1) + "switch {\n}", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "package p\nfunc f() {\n" + c.body + "\n}\n"
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, "p.go", src, 0)
			if err != nil {
				t.Fatal(err)
			}
			fn := file.Decls[0].(*ast.FuncDecl)
			if got := isFlatSwitch(fset, fn.Body); got != c.want {
				t.Errorf("isFlatSwitch(%q) = %v; want %v", c.body, got, c.want)
			}
		})
	}
}

// TestSpanAndName checks the line count and the key of a method.
func TestSpanAndName(t *testing.T) {
	src := "package p\n\nfunc (r *T[K]) m() {\n\tx()\n}\n"
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	fn := file.Decls[0].(*ast.FuncDecl)
	if got := span(fset, fn); got != 3 {
		t.Errorf("span = %d; want 3", got)
	}
	if got := funcName(fn); got != "T.m" {
		t.Errorf("funcName = %q; want T.m", got)
	}
}
