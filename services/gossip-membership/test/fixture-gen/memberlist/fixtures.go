// This file is compiled INTO Debian's memberlist 0.2.2 package (go build -overlay, see gen.sh) so the
// fixtures come from memberlist's own unexported encoders: encode, makeCompoundMessage,
// compressPayload, encryptPayload, decryptPayload (util.go, security.go), and the byte layout of
// sendLocalState / sendUserMsg / encryptLocalState (net.go).

package memberlist

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"hash/crc32"
	"io"

	"github.com/hashicorp/go-msgpack/codec"
)

// FixtureVsn is the Vsn every node state in the fixtures carries: PMin 1, PMax 5, PCur 2, delegate 0s.
var FixtureVsn = []uint8{1, 5, 2, 0, 0, 0}

// FixturePushPull is the push/pull body sendLocalState writes: [pushPullMsg], header, node states, user state.
func FixturePushPull() ([]byte, error) {
	nodes := []pushNodeState{
		{Name: "node-a", Addr: []byte{127, 0, 0, 1}, Port: 7946, Incarnation: 1, State: StateAlive, Vsn: FixtureVsn},
		{Name: "node-b", Addr: []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2}, Port: 7947,
			Meta: []byte("role=gpu"), Incarnation: 300, State: StateSuspect, Vsn: FixtureVsn},
		{Name: string(bytes.Repeat([]byte("n"), 40)), Addr: []byte{10, 0, 0, 3}, Port: 65535,
			Meta: bytes.Repeat([]byte{0xfe}, 40), Incarnation: 70000, State: StateLeft, Vsn: FixtureVsn},
	}
	user := []byte("hello-user-state")
	buf := bytes.NewBuffer(nil)
	enc := codec.NewEncoder(buf, &codec.MsgpackHandle{})
	buf.WriteByte(byte(pushPullMsg))
	if err := enc.Encode(&pushPullHeader{Nodes: len(nodes), UserStateLen: len(user), Join: true}); err != nil {
		return nil, err
	}
	for i := range nodes {
		if err := enc.Encode(&nodes[i]); err != nil {
			return nil, err
		}
	}
	buf.Write(user)
	return buf.Bytes(), nil
}

// FixtureCompress is compressPayload (what rawSendMsgStream sends with compression on).
func FixtureCompress(b []byte) ([]byte, error) {
	c, err := compressPayload(b)
	if err != nil {
		return nil, err
	}
	return c.Bytes(), nil
}

// FixtureGossipPacket is a UDP gossip packet: compound of alive, suspect, dead, a user broadcast and
// six more alives, compressed, then the CRC prefix (net.go rawSendMsgPacket: [crcMsg][crc32 BE]).
func FixtureGossipPacket() ([]byte, error) {
	a := alive{Incarnation: 9, Node: "node-a", Addr: []byte{127, 0, 0, 1}, Port: 7946, Meta: []byte("m"), Vsn: FixtureVsn}
	var msgs [][]byte
	add := func(t messageType, v interface{}) error {
		b, err := encode(t, v)
		if err == nil {
			msgs = append(msgs, b.Bytes())
		}
		return err
	}
	if err := add(aliveMsg, &a); err != nil {
		return nil, err
	}
	if err := add(suspectMsg, &suspect{Incarnation: 3, Node: "node-b", From: "node-a"}); err != nil {
		return nil, err
	}
	if err := add(deadMsg, &dead{Incarnation: 4, Node: "node-c", From: "node-a"}); err != nil {
		return nil, err
	}
	msgs = append(msgs, append([]byte{byte(userMsg)}, "hi there, user broadcast"...))
	for i := 0; i < 6; i++ {
		if err := add(aliveMsg, &a); err != nil {
			return nil, err
		}
	}
	comp, err := FixtureCompress(makeCompoundMessage(msgs).Bytes())
	if err != nil {
		return nil, err
	}
	out := make([]byte, 5, 5+len(comp))
	out[0] = byte(hasCrcMsg)
	binary.BigEndian.PutUint32(out[1:], crc32.ChecksumIEEE(comp))
	return append(out, comp...), nil
}

// FixtureUserStream is sendUserMsg's body ([userMsg], userMsgHeader, bytes), compressed.
func FixtureUserStream(msg []byte) ([]byte, error) {
	buf := bytes.NewBuffer(nil)
	buf.WriteByte(byte(userMsg))
	if err := codec.NewEncoder(buf, &codec.MsgpackHandle{}).Encode(&userMsgHeader{UserMsgLen: len(msg)}); err != nil {
		return nil, err
	}
	buf.Write(msg)
	return FixtureCompress(buf.Bytes())
}

// FixtureAck is an encoded ackResp (the "ack" plaintext of the encryption vectors).
func FixtureAck(seq uint32) ([]byte, error) {
	b, err := encode(ackRespMsg, &ackResp{SeqNo: seq})
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// labelHeader is the [hasLabelMsg=244][len][label] prefix later memberlist versions put before a
// labelled packet or stream; empty label, no header.
func labelHeader(label []byte) []byte {
	if len(label) == 0 {
		return nil
	}
	return append([]byte{244, byte(len(label))}, label...)
}

// FixtureSeal seals plain with encryptPayload. A nil nonce draws it from crypto/rand as memberlist
// does; otherwise rand.Reader yields exactly that nonce for this call. udp: label header + sealed
// (AD = label); stream: label header + [encryptMsg][len u32 BE][sealed] (AD = [encryptMsg][len] +
// label), as encryptLocalState lays it out.
func FixtureSeal(stream bool, vsn int, key, nonce, label, plain []byte) ([]byte, error) {
	if nonce != nil {
		saved := rand.Reader
		rand.Reader = io.MultiReader(bytes.NewReader(nonce), saved)
		defer func() { rand.Reader = saved }()
	}
	v := encryptionVersion(vsn)
	out := bytes.NewBuffer(labelHeader(label))
	if !stream {
		err := encryptPayload(v, key, plain, label, out)
		return out.Bytes(), err
	}
	frame := make([]byte, 5)
	frame[0] = byte(encryptMsg)
	binary.BigEndian.PutUint32(frame[1:], uint32(encryptedLength(v, len(plain))))
	out.Write(frame)
	ad := append(append([]byte{}, frame...), label...)
	err := encryptPayload(v, key, plain, ad, out)
	return out.Bytes(), err
}

// FixtureOpen opens what FixtureSeal lays out (without the label header) with decryptPayload.
func FixtureOpen(stream bool, key, label, sealed []byte) ([]byte, error) {
	if !stream {
		return decryptPayload([][]byte{key}, sealed, label)
	}
	if len(sealed) < 5 {
		return nil, io.ErrUnexpectedEOF
	}
	ad := append(append([]byte{}, sealed[:5]...), label...)
	return decryptPayload([][]byte{key}, sealed[5:], ad)
}
