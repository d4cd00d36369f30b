package main

import (
	"bufio"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const modulePath = "github.com/loraedge/loraedge"

// readLayers parses README.md's layer table: rows "| N | `pkg`, `pkg/...` |
// ..." under the heading "### Layers". A pattern ending in /... names a
// package and everything below it.
func readLayers(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open("../../README.md")
	require.NoError(t, err)
	defer f.Close()
	row := regexp.MustCompile(`^\|\s*(\d+)\s*\|([^|]*)\|`)
	pkg := regexp.MustCompile("`([^`]+)`")
	layers := map[string]int{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			in = strings.TrimSpace(strings.TrimLeft(line, "#")) == "Layers"
			continue
		}
		m := row.FindStringSubmatch(line)
		if !in || m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		for _, p := range pkg.FindAllStringSubmatch(m[2], -1) {
			layers[p[1]] = n
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, layers, "README.md has no \"### Layers\" table")
	return layers
}

// layerOf finds the layer of a package path relative to the module: an
// exact entry first, then the closest "dir/..." entry above it.
func layerOf(layers map[string]int, rel string) (int, bool) {
	if n, ok := layers[rel]; ok {
		return n, true
	}
	for p := rel; p != "." && p != "/"; p = path.Dir(p) {
		if n, ok := layers[p+"/..."]; ok {
			return n, true
		}
	}
	return 0, false
}

// TestLayers keeps the import graph in the order README.md's layer table
// gives: a package may import packages of its own layer or below, never
// one above, and every package of the module has a row.
func TestLayers(t *testing.T) {
	layers := readLayers(t)
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	require.NoError(t, err)
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		from := strings.TrimPrefix(fields[0], modulePath+"/")
		if fields[0] == modulePath || !strings.HasPrefix(fields[0], modulePath+"/") {
			continue
		}
		fromLayer, ok := layerOf(layers, from)
		if !ok {
			t.Errorf("%s has no row in README.md's layer table", from)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, modulePath+"/") {
				continue
			}
			to := strings.TrimPrefix(imp, modulePath+"/")
			toLayer, ok := layerOf(layers, to)
			if !ok {
				t.Errorf("%s (imported by %s) has no row in README.md's layer table", to, from)
				continue
			}
			if toLayer > fromLayer {
				t.Errorf("%s (layer %d) imports %s (layer %d, above it)", from, fromLayer, to, toLayer)
			}
		}
	}
}
