// Answers reference.Parse and reference.ParseNormalizedNamed (docker/distribution) for
// each hex-encoded input line.
package main

import (
	"bufio"
	_ "crypto/sha256" // digest algorithms available, as in kubelet
	_ "crypto/sha512"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/docker/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// class names an error the way backstop's ImageRefErrorKind does.
func class(err error) string {
	switch err {
	case reference.ErrReferenceInvalidFormat:
		return "ReferenceInvalidFormat"
	case reference.ErrNameContainsUppercase:
		return "NameContainsUppercase"
	case reference.ErrNameEmpty:
		return "NameEmpty"
	case reference.ErrNameTooLong:
		return "NameTooLong"
	case digest.ErrDigestInvalidFormat:
		return "DigestInvalidFormat"
	case digest.ErrDigestInvalidLength:
		return "DigestInvalidLength"
	case digest.ErrDigestUnsupported:
		return "DigestUnsupported"
	}
	msg := err.Error()
	switch {
	case strings.HasSuffix(msg, "cannot specify 64-byte hexadecimal strings"):
		return "HexIdentifier"
	case strings.HasPrefix(msg, "invalid reference format: repository name") &&
		strings.HasSuffix(msg, "must be lowercase"):
		// ParseNormalizedNamed's own check of the repository part.
		return "NameContainsUppercase"
	}
	return "Other"
}

func write(out *bufio.Writer, ref reference.Reference, err error, normalized bool) {
	if err != nil {
		fmt.Fprintf(out, "err\t%s\t%s\t\t\t\t\t", class(err), hex.EncodeToString([]byte(err.Error())))
		return
	}
	var domain, path, tag, dgst string
	if named, ok := ref.(reference.Named); ok {
		domain = reference.Domain(named)
		path = reference.Path(named)
	}
	if tagged, ok := ref.(reference.Tagged); ok {
		tag = tagged.Tag()
	}
	if digested, ok := ref.(reference.Digested); ok {
		dgst = string(digested.Digest())
	}
	shown := ref.String()
	if named, ok := ref.(reference.Named); ok && normalized {
		shown = reference.TagNameOnly(named).String()
	}
	fmt.Fprintf(out, "ok\t-\t\t%s\t%s\t%s\t%s\t%s", domain, path, tag, dgst, shown)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	for in.Scan() {
		raw, err := hex.DecodeString(in.Text())
		if err != nil {
			fmt.Fprintln(os.Stderr, "image_ref: input line is not hex:", err)
			os.Exit(2)
		}
		s := string(raw)
		ref, err := reference.Parse(s)
		write(out, ref, err, false)
		out.WriteByte('\t')
		named, err := reference.ParseNormalizedNamed(s)
		write(out, named, err, true)
		out.WriteByte('\n')
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "image_ref:", err)
		os.Exit(2)
	}
}
