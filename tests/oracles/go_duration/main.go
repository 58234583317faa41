// Answers time.ParseDuration and strconv.Atoi for each hex-encoded input line.
package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	for in.Scan() {
		raw, err := hex.DecodeString(in.Text())
		if err != nil {
			fmt.Fprintln(os.Stderr, "go_duration: input line is not hex:", err)
			os.Exit(2)
		}
		s := string(raw)
		if d, err := time.ParseDuration(s); err == nil {
			fmt.Fprintf(out, "ok\t%d\t%s", int64(d), d.String())
		} else {
			fmt.Fprintf(out, "err\t-\t%s", hex.EncodeToString([]byte(err.Error())))
		}
		if n, err := strconv.Atoi(s); err == nil {
			fmt.Fprintf(out, "\tok\t%d\n", n)
		} else {
			fmt.Fprintf(out, "\terr\t%s\n", hex.EncodeToString([]byte(err.Error())))
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "go_duration:", err)
		os.Exit(2)
	}
}
