// go-tar-oracle: reads tar archives with Go's archive/tar (what Docker, containerd and umoci
// read layers with) and prints the header sequence as JSON, for oci-extract's differential tests.
//
//	go-tar-oracle < layer.tar           one archive on stdin, one JSON line on stdout
//	go-tar-oracle -batch < stream       archives as <8-byte big-endian length><bytes>, one line each
//
// Global PAX headers ('g') are left out (Docker ignores them). The sequence stops after the first
// GNU sparse entry (old 'S' or PAX GNU.sparse.major/minor/map records), which is marked sparse.
// Names, link names and xattrs are hex (raw bytes); numbers are decimal strings (exact int64).
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

type entry struct {
	Name      string            `json:"name"`
	Linkname  string            `json:"linkname"`
	Type      string            `json:"type"`
	Mode      string            `json:"mode"`
	Uid       string            `json:"uid"`
	Gid       string            `json:"gid"`
	Size      string            `json:"size"`
	Mtime     string            `json:"mtime"`
	MtimeNsec string            `json:"mtimeNsec"`
	Devmajor  string            `json:"devmajor"`
	Devminor  string            `json:"devminor"`
	Xattrs    map[string]string `json:"xattrs"`
	Sparse    bool              `json:"sparse"`
}

type result struct {
	Entries []entry `json:"entries"`
	Error   *string `json:"error"`
}

func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for _, k := range []string{"GNU.sparse.major", "GNU.sparse.minor", "GNU.sparse.map"} {
		if _, ok := h.PAXRecords[k]; ok {
			return true
		}
	}
	return false
}

func read(r io.Reader) result {
	res := result{Entries: []entry{}}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return res
		}
		if err != nil {
			msg := err.Error()
			res.Error = &msg
			return res
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		e := entry{
			Name:      hex.EncodeToString([]byte(h.Name)),
			Linkname:  hex.EncodeToString([]byte(h.Linkname)),
			Type:      hex.EncodeToString([]byte{h.Typeflag}),
			Mode:      fmt.Sprint(h.Mode),
			Uid:       fmt.Sprint(h.Uid),
			Gid:       fmt.Sprint(h.Gid),
			Mtime:     fmt.Sprint(h.ModTime.Unix()),
			MtimeNsec: fmt.Sprint(h.ModTime.Nanosecond()),
			Devmajor:  fmt.Sprint(h.Devmajor),
			Devminor:  fmt.Sprint(h.Devminor),
			Xattrs:    map[string]string{},
			Sparse:    isSparse(h),
		}
		for k, v := range h.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") && v != "" {
				e.Xattrs[hex.EncodeToString([]byte(k[len("SCHILY.xattr."):]))] = hex.EncodeToString([]byte(v))
			}
		}
		if e.Sparse {
			e.Size = "0"
			res.Entries = append(res.Entries, e)
			return res
		}
		n, err := io.Copy(io.Discard, tr)
		e.Size = fmt.Sprint(n)
		if err != nil {
			msg := err.Error()
			res.Error = &msg
			return res
		}
		res.Entries = append(res.Entries, e)
	}
}

func main() {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	if len(os.Args) > 1 && os.Args[1] == "-batch" {
		in := bufio.NewReader(os.Stdin)
		var size [8]byte
		for {
			if _, err := io.ReadFull(in, size[:]); err != nil {
				return
			}
			data := make([]byte, binary.BigEndian.Uint64(size[:]))
			if _, err := io.ReadFull(in, data); err != nil {
				fmt.Fprintln(os.Stderr, "short batch input")
				os.Exit(2)
			}
			if err := enc.Encode(read(bytes.NewReader(data))); err != nil {
				os.Exit(2)
			}
			out.Flush()
		}
	}
	if err := enc.Encode(read(os.Stdin)); err != nil {
		os.Exit(2)
	}
}
