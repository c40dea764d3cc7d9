// fixture-gen writes the Go-produced fixtures of test/fixtures from Debian's memberlist 0.2.2 and Go's
// compress/lzw, and checks the TypeScript-sealed vectors with memberlist's own decryptPayload. It is
// built with memberlist_fixtures.go compiled into the memberlist package (gen.sh does that):
//
//	fixture-gen -out DIR [-verify test/fixtures/encryption-ts-go-verified.json]
//
// DIR receives memberlist-go.json, lzw-go.json, encryption-go.json (all deterministic: fixed inputs,
// fixed nonces) and encryption-go-random.json (the same sealing with crypto/rand nonces, as memberlist
// sends them; it differs on every run). With -verify, every vector of that file must open to its
// plaintext; the count is printed on stdout as {"verified":N}.
package main

import (
	"bytes"
	"compress/lzw"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/memberlist"
)

type vector struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Vsn       int    `json:"vsn"`
	Key       string `json:"key"`
	Nonce     string `json:"nonce"`
	Label     string `json:"label"`
	Plaintext string `json:"plaintext"`
	Sealed    string `json:"sealed"`
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "fixture-gen:", err)
		os.Exit(1)
	}
}

func mustBytes(b []byte, err error) []byte {
	must(err)
	return b
}

// xorshift32 (13, 17, 5): the same generator test/lzw.test.ts rebuilds the inputs with.
func xorshift(seed uint32) func() uint32 {
	s := seed
	return func() uint32 {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		return s
	}
}

func lzwCompress(b []byte) string {
	var buf bytes.Buffer
	w := lzw.NewWriter(&buf, lzw.LSB, 8)
	_, err := w.Write(b)
	must(err)
	must(w.Close())
	return hex.EncodeToString(buf.Bytes())
}

func lzwFixture() []byte {
	r := xorshift(1)
	random := make([]byte, 6000)
	for i := range random {
		random[i] = byte(r())
	}
	r = xorshift(7)
	words := []string{"alive ", "node-", "suspect ", "dead ", "7946 ", "incarnation ", "\x00\x01\xff"}
	var text []byte
	for len(text) < 20000 {
		text = append(text, words[r()%uint32(len(words))]...)
	}
	squares := make([]byte, 9000)
	for i := range squares {
		squares[i] = byte(i * i % 251)
	}
	return []byte(fmt.Sprintf("{\n  \"random6000\": %q,\n  \"words20000\": %q,\n  \"squares9000\": %q,\n  \"aaaa300\": %q\n}\n",
		lzwCompress(random), lzwCompress(text), lzwCompress(squares), lzwCompress(bytes.Repeat([]byte("a"), 300))))
}

func memberlistFixture() []byte {
	pp := mustBytes(memberlist.FixturePushPull())
	ppc := mustBytes(memberlist.FixtureCompress(pp))
	gossip := mustBytes(memberlist.FixtureGossipPacket())
	user := mustBytes(memberlist.FixtureUserStream([]byte("hello")))
	about := "Produced by Go memberlist 0.2.2 internals (encode, sendLocalState's encoder, makeCompoundMessage, compressPayload, crc32) with go-msgpack 0.5.5 and Go 1.19; values in codec-go.test.ts."
	return []byte(fmt.Sprintf("{\n  \"pushPullPlain\": %q,\n  \"pushPullCompressed\": %q,\n  \"gossipPacket\": %q,\n  \"userStream\": %q,\n  \"_about\": %q\n}",
		hex.EncodeToString(pp), hex.EncodeToString(ppc), hex.EncodeToString(gossip), hex.EncodeToString(user), about))
}

// encryptionVectors: versions 0 and 1, 16/24/32-byte keys, no label and "lbl", UDP and stream.
// A nil nonce means crypto/rand (the nonce field then records what memberlist drew).
func encryptionVectors(random bool) []vector {
	ack := mustBytes(memberlist.FixtureAck(7))
	p100 := make([]byte, 100)
	for i := range p100 {
		p100[i] = byte(i * 7)
	}
	n0 := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	n1 := []byte{0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b}
	keys := map[int][]byte{
		16: []byte("0123456789abcdef"),
		24: append([]byte("clustersecret"), make([]byte, 11)...),
		32: []byte("0123456789abcdef0123456789abcdef"),
	}
	type plain struct {
		name   string
		data   []byte
		nonce  []byte
		stream bool
	}
	plains := []plain{
		{"empty", nil, n0, false}, {"ack", ack, n0, false},
		{"p15", bytes.Repeat([]byte("A"), 15), n0, false}, {"p16", bytes.Repeat([]byte("B"), 16), n0, false},
		{"p17", bytes.Repeat([]byte("C"), 17), n0, false}, {"p100", p100, n1, false},
		{"ack", ack, n0, true}, {"p100", p100, n0, true},
	}
	var out []vector
	for _, size := range []int{16, 24, 32} {
		for _, vsn := range []int{0, 1} {
			for _, label := range []string{"", "lbl"} {
				for _, p := range plains {
					kind := "udp"
					if p.stream {
						kind = "stream"
					}
					nonce := p.nonce
					if random {
						nonce = nil
					}
					sealed := mustBytes(memberlist.FixtureSeal(p.stream, vsn, keys[size], nonce, []byte(label), p.data))
					// The nonce follows the label header ([244][len][label]), the stream's [10][L u32], and the version byte.
					at := 1
					if label != "" {
						at += 2 + len(label)
					}
					if p.stream {
						at += 5
					}
					out = append(out, vector{
						Name: fmt.Sprintf("%s-k%d-v%d-%s-%s", kind, size, vsn, label, p.name), Kind: kind, Vsn: vsn,
						Key: hex.EncodeToString(keys[size]), Nonce: hex.EncodeToString(sealed[at : at+12]), Label: label,
						Plaintext: hex.EncodeToString(p.data), Sealed: hex.EncodeToString(sealed),
					})
				}
			}
		}
	}
	return out
}

func vectorFile(about string, vs []vector) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	must(enc.Encode(about))
	head := bytes.TrimRight(buf.Bytes(), "\n")
	out := append([]byte(`{"about":`), head...)
	out = append(out, `,"vectors":[`...)
	for i, v := range vs {
		buf.Reset()
		must(enc.Encode(v))
		if i > 0 {
			out = append(out, ",\n"...)
		}
		out = append(out, bytes.TrimRight(buf.Bytes(), "\n")...)
	}
	return append(out, "]}\n"...)
}

// verify opens every vector of a TS-sealed file (label header stripped) with decryptPayload.
func verify(path string) int {
	raw, err := os.ReadFile(path)
	must(err)
	var f struct{ Vectors []vector }
	must(json.Unmarshal(raw, &f))
	for _, v := range f.Vectors {
		key, _ := hex.DecodeString(v.Key)
		sealed, _ := hex.DecodeString(v.Sealed)
		got, err := memberlist.FixtureOpen(v.Kind == "stream", key, []byte(v.Label), sealed)
		if err != nil || hex.EncodeToString(got) != v.Plaintext {
			must(fmt.Errorf("%s: does not open to its plaintext (%v)", v.Name, err))
		}
	}
	return len(f.Vectors)
}

func main() {
	out := flag.String("out", "", "directory to write the fixtures into")
	check := flag.String("verify", "", "TS-sealed vector file to open with memberlist's decryptPayload")
	flag.Parse()
	if *out == "" {
		must(fmt.Errorf("-out is required"))
	}
	must(os.MkdirAll(*out, 0o755))
	write := func(name string, b []byte) { must(os.WriteFile(filepath.Join(*out, name), b, 0o644)) }
	write("memberlist-go.json", memberlistFixture())
	write("lzw-go.json", lzwFixture())
	about := "AES-GCM vectors built with Go crypto/aes + cipher.NewGCM exactly as memberlist security.go encryptPayload / net.go encryptLocalState, with fixed nonces. wire = label header (if any) + sealed payload (udp) or + [10][L u32][sealed] (stream). Keys: 16 = \"0123456789abcdef\", 24 = \"clustersecret\" zero-padded, 32 = \"0123456789abcdef\" twice."
	write("encryption-go.json", vectorFile(about, encryptionVectors(false)))
	write("encryption-go-random.json", vectorFile("As encryption-go.json, nonces from crypto/rand.", encryptionVectors(true)))
	if *check != "" {
		fmt.Printf("{\"verified\":%d}\n", verify(*check))
	}
}
