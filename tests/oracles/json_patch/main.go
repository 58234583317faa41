// Applies a JSON Patch with evanphx/json-patch (what kube-apiserver applies a mutating
// webhook's patch with) to a document, for each input line {"doc": ..., "patch": [...]}.
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	jsonpatch "github.com/evanphx/json-patch"
)

type input struct {
	Doc   json.RawMessage `json:"doc"`
	Patch json.RawMessage `json:"patch"`
}

func apply(line []byte) ([]byte, error) {
	var in input
	if err := json.Unmarshal(line, &in); err != nil {
		return nil, fmt.Errorf("input line: %w", err)
	}
	patch, err := jsonpatch.DecodePatch(in.Patch)
	if err != nil {
		return nil, err
	}
	patched, err := patch.Apply(in.Doc)
	if err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, patched); err != nil {
		return nil, err
	}
	return compact.Bytes(), nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<28)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	for in.Scan() {
		patched, err := apply(in.Bytes())
		if err != nil {
			fmt.Fprintf(out, "err\t%s\n", hex.EncodeToString([]byte(err.Error())))
			continue
		}
		out.WriteString("ok\t")
		out.Write(patched)
		out.WriteByte('\n')
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "json_patch:", err)
		os.Exit(2)
	}
}
