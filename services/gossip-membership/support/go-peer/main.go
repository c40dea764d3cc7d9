// go-peer: a small Go memberlist node (Debian's memberlist 0.2.2) that the interop tests and the
// benchmark run next to our TypeScript nodes. It is built with
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o <dir>/go-peer .
//
// and driven by flags; it reports itself on stdout as JSON lines and on a tiny HTTP interface:
//
//	stdout  {"event":"ready","name":…,"addr":…,"port":<gossip>,"http":<http port>}
//	GET  /members  → {"self":…,"health":N,"members":[{"name","addr","port","state","incarnation","meta"}],
//	                  "bytesOut":{"udp":N,"tcp":N}}
//	                 every node memberlist knows, with its exact state (alive|suspect|dead|left)
//	POST /join?addrs=h:p,h:p → {"joined":N} or 500 {"error":…}
//	POST /leave?timeoutMs=N  → {"left":true}  (memberlist Leave: broadcasts dead-self)
//	POST /shutdown           → exits 0 after Shutdown (no message sent)
//	GET  /keyring            → {"primary":<sha256 hex prefix>,"keys":[…]} (fingerprints, primary first)
//	POST /keyring/install?key=<base64>  memberlist Keyring.AddKey  → the /keyring body, or 400/409 {"error":…}
//	POST /keyring/use?key=<base64>      memberlist Keyring.UseKey
//	POST /keyring/remove?key=<base64>   memberlist Keyring.RemoveKey
//	(the keyring endpoints answer 409 when the peer runs without -key / -key-text)
//
// memberlist's public Members() hides dead and left nodes and its EventDelegate cannot tell dead from
// left, so /members reads the unexported node list through reflection under memberlist's own lock.
package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hashicorp/memberlist"
)

type member struct {
	Name        string `json:"name"`
	Addr        string `json:"addr"`
	Port        uint16 `json:"port"`
	State       string `json:"state"`
	Incarnation uint32 `json:"incarnation"`
	Meta        string `json:"meta"`
}

var stateNames = map[int64]string{0: "alive", 1: "suspect", 2: "dead", 3: "left"}

// allNodes copies memberlist's node list (m.nodes, guarded by m.nodeLock).
func allNodes(m *memberlist.Memberlist) []member {
	v := reflect.ValueOf(m).Elem()
	lockField := v.FieldByName("nodeLock")
	lock := (*sync.RWMutex)(unsafe.Pointer(lockField.UnsafeAddr()))
	nodesField := v.FieldByName("nodes")
	nodes := reflect.NewAt(nodesField.Type(), unsafe.Pointer(nodesField.UnsafeAddr())).Elem()
	lock.RLock()
	defer lock.RUnlock()
	out := make([]member, 0, nodes.Len())
	for i := 0; i < nodes.Len(); i++ {
		ns := nodes.Index(i).Elem()
		node := ns.FieldByName("Node").Interface().(memberlist.Node)
		out = append(out, member{
			Name:        node.Name,
			Addr:        node.Addr.String(),
			Port:        node.Port,
			State:       stateNames[ns.FieldByName("State").Int()],
			Incarnation: uint32(ns.FieldByName("Incarnation").Uint()),
			Meta:        string(node.Meta),
		})
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// countingTransport wraps memberlist's NetTransport to count the bytes this node sends (UDP
// datagrams and everything written on TCP streams, dialled or accepted) for the benchmark.
type countingTransport struct {
	*memberlist.NetTransport
	udpOut, tcpOut uint64
	streams        chan net.Conn
}

type countingConn struct {
	net.Conn
	n *uint64
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	atomic.AddUint64(c.n, uint64(n))
	return n, err
}

func (t *countingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	atomic.AddUint64(&t.udpOut, uint64(len(b)))
	return t.NetTransport.WriteTo(b, addr)
}

func (t *countingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return countingConn{c, &t.tcpOut}, nil
}

func (t *countingTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	atomic.AddUint64(&t.udpOut, uint64(len(b)))
	return t.NetTransport.WriteToAddress(b, a)
}

func (t *countingTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c, err := t.NetTransport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	return countingConn{c, &t.tcpOut}, nil
}

func (t *countingTransport) StreamCh() <-chan net.Conn { return t.streams }

func newCountingTransport(bind string, port int, logger *log.Logger) (*countingTransport, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{bind}, BindPort: port, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	t := &countingTransport{NetTransport: nt, streams: make(chan net.Conn)}
	go func() {
		for c := range nt.StreamCh() {
			t.streams <- countingConn{c, &t.tcpOut}
		}
	}()
	return t, nil
}

type metaDelegate struct{ meta []byte }

func (d *metaDelegate) NodeMeta(limit int) []byte                  { return d.meta }
func (d *metaDelegate) NotifyMsg([]byte)                           {}
func (d *metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *metaDelegate) LocalState(join bool) []byte                { return nil }
func (d *metaDelegate) MergeRemoteState(buf []byte, join bool)     {}

func main() {
	name := flag.String("name", "", "node name (required)")
	bind := flag.String("bind", "127.0.0.1", "gossip bind address")
	port := flag.Int("port", 0, "gossip port, UDP and TCP (0 = any free port)")
	advertise := flag.String("advertise", "", "advertised address (default: the bind address)")
	advertisePort := flag.Int("advertise-port", 0, "advertised port (default: the bound port)")
	join := flag.String("join", "", "comma-separated host:port list to join at start")
	profile := flag.String("profile", "local", "memberlist config: local | lan | wan")
	httpAddr := flag.String("http", "127.0.0.1:0", "HTTP status interface address")
	meta := flag.String("meta", "", "node meta (a string)")
	quiet := flag.Bool("quiet", false, "discard memberlist's own log lines")
	keyText := flag.String("key-text", "", "encryption key: ASCII secret zero-padded to 24 bytes (AES-192)")
	keyB64 := flag.String("key", "", "encryption key: base64 of 16, 24 or 32 bytes")
	protocolVersion := flag.Int("protocol-version", -1, "Config.ProtocolVersion (default: memberlist's)")
	delegateMin := flag.Int("delegate-min", 0, "Config.DelegateProtocolMin")
	delegateMax := flag.Int("delegate-max", 0, "Config.DelegateProtocolMax")
	delegateVersion := flag.Int("delegate-version", 0, "Config.DelegateProtocolVersion")
	flag.Parse()
	if *name == "" {
		fmt.Fprintln(os.Stderr, "go-peer: -name is required")
		os.Exit(2)
	}

	var conf *memberlist.Config
	switch *profile {
	case "local":
		conf = memberlist.DefaultLocalConfig()
	case "lan":
		conf = memberlist.DefaultLANConfig()
	case "wan":
		conf = memberlist.DefaultWANConfig()
	default:
		fmt.Fprintf(os.Stderr, "go-peer: unknown -profile %q\n", *profile)
		os.Exit(2)
	}
	conf.Name = *name
	conf.BindAddr = *bind
	conf.BindPort = *port
	conf.AdvertisePort = *port
	if *advertise != "" {
		conf.AdvertiseAddr = *advertise
	}
	if *advertisePort != 0 {
		conf.AdvertisePort = *advertisePort
	}
	conf.Delegate = &metaDelegate{meta: []byte(*meta)}
	if *protocolVersion >= 0 {
		conf.ProtocolVersion = uint8(*protocolVersion)
	}
	conf.DelegateProtocolMin = uint8(*delegateMin)
	conf.DelegateProtocolMax = uint8(*delegateMax)
	conf.DelegateProtocolVersion = uint8(*delegateVersion)
	if *keyText != "" {
		key := make([]byte, 24)
		copy(key, *keyText)
		conf.SecretKey = key
	}
	if *keyB64 != "" {
		key, err := base64.StdEncoding.DecodeString(*keyB64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "go-peer: -key: %v\n", err)
			os.Exit(2)
		}
		conf.SecretKey = key
	}
	var logOut io.Writer = os.Stderr
	if *quiet {
		logOut = ioutil.Discard
	}
	conf.Logger = log.New(logOut, *name+" ", log.LstdFlags|log.Lmicroseconds)

	transport, err := newCountingTransport(*bind, *port, conf.Logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-peer: bind: %v\n", err)
		os.Exit(1)
	}
	conf.Transport = transport
	if *port == 0 {
		conf.BindPort = transport.GetAutoBindPort()
		if *advertisePort == 0 {
			conf.AdvertisePort = conf.BindPort
		}
	}
	m, err := memberlist.Create(conf)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-peer: create: %v\n", err)
		os.Exit(1)
	}
	if list := splitList(*join); len(list) > 0 {
		if _, err := m.Join(list); err != nil {
			fmt.Fprintf(os.Stderr, "go-peer: join: %v\n", err)
			os.Exit(1)
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/members", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]interface{}{
			"self": *name, "health": m.GetHealthScore(), "members": allNodes(m),
			"bytesOut": map[string]uint64{
				"udp": atomic.LoadUint64(&transport.udpOut), "tcp": atomic.LoadUint64(&transport.tcpOut),
			},
		})
	})
	mux.HandleFunc("/join", func(w http.ResponseWriter, r *http.Request) {
		n, err := m.Join(splitList(r.URL.Query().Get("addrs")))
		if err != nil {
			writeJSON(w, 500, map[string]interface{}{"error": err.Error(), "joined": n})
			return
		}
		writeJSON(w, 200, map[string]interface{}{"joined": n})
	})
	mux.HandleFunc("/leave", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("timeoutMs"))
		if ms <= 0 {
			ms = 2000
		}
		if err := m.Leave(time.Duration(ms) * time.Millisecond); err != nil {
			writeJSON(w, 500, map[string]interface{}{"error": err.Error()})
			return
		}
		writeJSON(w, 200, map[string]interface{}{"left": true})
	})
	mux.HandleFunc("/shutdown", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]interface{}{"shutdown": true})
		go func() {
			time.Sleep(10 * time.Millisecond) // let the reply flush
			_ = m.Shutdown()
			os.Exit(0)
		}()
	})
	// Keyring rotation on the running node: conf.Keyring is the ring memberlist built from SecretKey
	// (memberlist.Create) and reads at every seal/open.
	keyringBody := func() map[string]interface{} {
		fp := func(k []byte) string { h := sha256.Sum256(k); return "sha256:" + hex.EncodeToString(h[:])[:16] }
		keys := []string{}
		for _, k := range conf.Keyring.GetKeys() {
			keys = append(keys, fp(k))
		}
		return map[string]interface{}{"primary": fp(conf.Keyring.GetPrimaryKey()), "keys": keys}
	}
	mux.HandleFunc("/keyring", func(w http.ResponseWriter, r *http.Request) {
		if conf.Keyring == nil {
			writeJSON(w, 409, map[string]interface{}{"error": "encryption is not enabled"})
			return
		}
		writeJSON(w, 200, keyringBody())
	})
	keyringOp := func(op func(*memberlist.Keyring, []byte) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				writeJSON(w, 405, map[string]interface{}{"error": "POST only"})
				return
			}
			if conf.Keyring == nil {
				writeJSON(w, 409, map[string]interface{}{"error": "encryption is not enabled"})
				return
			}
			key, err := base64.StdEncoding.DecodeString(r.URL.Query().Get("key"))
			if err != nil {
				writeJSON(w, 400, map[string]interface{}{"error": "key: " + err.Error()})
				return
			}
			if err := op(conf.Keyring, key); err != nil {
				writeJSON(w, 400, map[string]interface{}{"error": err.Error()})
				return
			}
			writeJSON(w, 200, keyringBody())
		}
	}
	mux.HandleFunc("/keyring/install", keyringOp((*memberlist.Keyring).AddKey))
	mux.HandleFunc("/keyring/use", keyringOp((*memberlist.Keyring).UseKey))
	mux.HandleFunc("/keyring/remove", keyringOp((*memberlist.Keyring).RemoveKey))
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-peer: http listen: %v\n", err)
		os.Exit(1)
	}
	self := m.LocalNode()
	ready, _ := json.Marshal(map[string]interface{}{
		"event": "ready", "name": self.Name, "addr": self.Addr.String(), "port": self.Port,
		"http": ln.Addr().(*net.TCPAddr).Port,
	})
	fmt.Println(string(ready))
	log.Fatal(http.Serve(ln, mux))
}
