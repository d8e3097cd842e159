package azure

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// A query page in the full-metadata form of "Payload format for Table
// service operations" (learn.microsoft.com/rest/api/storageservices/
// payload-format-for-table-service-operations): annotations before their
// values, as Azure and Azurite send them. The second row has them after
// their values and escaped text, which JSON allows and the decoder must read
// the same.
const page = `{"odata.metadata":"https://myaccount.table.core.windows.net/$metadata#Customers",
"value":[
 {"odata.type":"myaccount.Customers","odata.id":"https://myaccount.table.core.windows.net/Customers(PartitionKey='p',RowKey='r1')",
  "odata.etag":"W/\"0x5B168C7B6E589D2\"","odata.editLink":"Customers(PartitionKey='p',RowKey='r1')",
  "PartitionKey":"p","RowKey":"r1","Timestamp@odata.type":"Edm.DateTime","Timestamp":"2013-08-22T00:20:16.3134645Z",
  "CustomerSince@odata.type":"Edm.DateTime","CustomerSince":"2008-10-01T15:25:05.2852025Z",
  "Big@odata.type":"Edm.Int64","Big":"4611686018427400249","Small":-7,"Whole":2,"Ratio@odata.type":"Edm.Double","Ratio":3.25,
  "Nan@odata.type":"Edm.Double","Nan":"NaN","Bin@odata.type":"Edm.Binary","Bin":"AAEC/w==","Ok":true,"Gone":null,
  "Id@odata.type":"Edm.Guid","Id":"c9da6455-213d-42c9-9a79-3e9149a57833","Name":"plain"},
 {"PartitionKey":"p","RowKey":"r\u00e92","Big":"9","Big@odata.type":"Edm.Int64","At":"2026-02-28T22:59:59.1234567Z",
  "At@odata.type":"Edm.DateTime","D":4,"D@odata.type":"Edm.Double","Text":"a \"quoted\" \\ line\n"}
]}`

func TestDecodePage(t *testing.T) {
	rows, err := decodePage([]byte(page))
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	r1, r2 := rows[0], rows[1]
	if r1.PartitionKey != "p" || r1.RowKey != "r1" || r1.ETag != `W/"0x5B168C7B6E589D2"` || r1.Timestamp.IsZero() {
		t.Fatalf("keys, etag or timestamp: %+v", r1)
	}
	want := map[string]any{
		"CustomerSince": time.Date(2008, 10, 1, 15, 25, 5, 285202500, time.UTC),
		"Big":           int64(4611686018427400249), "Small": int32(-7), "Whole": int32(2), "Ratio": 3.25,
		"Ok": true, "Gone": nil, "Id": "c9da6455-213d-42c9-9a79-3e9149a57833", "Name": "plain",
	}
	for k, w := range want {
		if g, ok := r1.Props[k]; !ok || g != w {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
	if !math.IsNaN(r1.Float64("Nan")) || !bytes.Equal(r1.Bytes("Bin"), []byte{0, 1, 2, 255}) || len(r1.Props) != len(want)+2 {
		t.Errorf("NaN, binary or extra properties: %#v", r1.Props)
	}
	if r2.RowKey != "ré2" || r2.Props["Big"] != int64(9) || r2.Props["D"] != 4.0 || r2.String("Text") != "a \"quoted\" \\ line\n" ||
		!r2.Time("At").Equal(time.Date(2026, 2, 28, 22, 59, 59, 123456700, time.UTC)) {
		t.Errorf("annotations after values or escapes: %#v %q", r2.Props, r2.RowKey)
	}
}

func TestDecodeRefusesWhatItCannotRead(t *testing.T) {
	for _, body := range []string{
		`{"value":[{"PartitionKey":"p","N@odata.type":"Edm.Int64","N":"x"}]}`,
		`{"value":[{"PartitionKey":1}]}`,
		`{"value":[{"PartitionKey":"p"`,
		`[]`,
	} {
		if _, err := decodePage([]byte(body)); !fault.Is(err, fault.Internal) {
			t.Errorf("%s: %v", body, err)
		}
	}
	if e, err := decodeEntity([]byte(`{"PartitionKey":"p","RowKey":"r","S":"x"}`)); err != nil || e.String("S") != "x" {
		t.Errorf("single entity: %+v %v", e, err)
	}
	if rows, err := decodePage([]byte(`{"odata.metadata":"x","value":[]}`)); err != nil || len(rows) != 0 {
		t.Errorf("empty page: %v %v", rows, err)
	}
}

// BenchmarkDecodePage: decoding 1,000 rows of the catalog's object shape.
func BenchmarkDecodePage(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"odata.metadata":"x","value":[`)
	for i := range 1000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		e := store.Entity{PartitionKey: "bench", RowKey: "applications!app!processes!p", Props: map[string]any{
			"Path": "applications/app/processes/p", "V": int64(i), "Sha": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"Size": int64(40), "Kind": "process", "CT": "application/json", "Seq": int64(1), "By": "u@example.com",
			"At": time.Now(), "Del": false}}
		body, _ := store.EncodeEntity(e)
		buf.Write(body)
	}
	buf.WriteString(`]}`)
	b.ReportAllocs()
	for b.Loop() {
		if rows, err := decodePage(buf.Bytes()); err != nil || len(rows) != 1000 {
			b.Fatal(len(rows), err)
		}
	}
}
