// Package all registers every built-in payload codec. It is the one place
// that knows them all, so the composition root and `loraedge validate` get
// the same set.
package all

import (
	"fmt"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/adeunis"
	"github.com/loraedge/loraedge/internal/codec/axioma"
	"github.com/loraedge/loraedge/internal/codec/cayenne"
	"github.com/loraedge/loraedge/internal/codec/decentlab"
	"github.com/loraedge/loraedge/internal/codec/dragino"
	"github.com/loraedge/loraedge/internal/codec/elsys"
	"github.com/loraedge/loraedge/internal/codec/elvaco"
	"github.com/loraedge/loraedge/internal/codec/imbuildings"
	"github.com/loraedge/loraedge/internal/codec/jscodec"
	"github.com/loraedge/loraedge/internal/codec/kamstrup"
	"github.com/loraedge/loraedge/internal/codec/klax"
	"github.com/loraedge/loraedge/internal/codec/layout"
	"github.com/loraedge/loraedge/internal/codec/milesight"
	"github.com/loraedge/loraedge/internal/codec/paxcounter"
	"github.com/loraedge/loraedge/internal/codec/zenner"
)

// natives lists codec id -> constructor. Keep one line per codec id.
var natives = []struct {
	id   string
	ctor codec.Constructor
}{
	{layout.ID, layout.New},
	{"elsys-ers-co2", elsys.Model("ers-co2")},
	{"elsys-ers-voc", elsys.Model("ers-voc")},
	{"elsys-ems", elsys.Model("ems")},
	{"milesight-am319", milesight.Model("am319")},
	{"milesight-am307", milesight.Model("am307")},
	{"milesight-em300-di", milesight.Model("em300-di")},
	{"decentlab-dl-iam", decentlab.Model("dl-iam")},
	{"decentlab-dl-pm", decentlab.Model("dl-pm")},
	{"decentlab-dl-itst", decentlab.Model("dl-itst")},
	{"decentlab-dl-atm41", decentlab.Model("dl-atm41")},
	{"decentlab-dl-sht35", decentlab.Model("dl-sht35")},
	{"dragino-lht65", dragino.New},
	{"adeunis-pulse4", adeunis.New},
	{"cayenne-lpp", cayenne.New},
	// Part B codecs (elvaco, kamstrup, klax, axioma, zenner, ts013) go below.
	{elvaco.ID, elvaco.New},
	{kamstrup.ID, kamstrup.New},
	{klax.ID, klax.New},
	{axioma.ID, axioma.New},
	{zenner.ID, zenner.New},
	{jscodec.ID, jscodec.New},
	// Civil protection, part A: river levels and people counting.
	{"decentlab-dl-mbx", decentlab.Model("dl-mbx")},
	{"decentlab-dl-pr26", decentlab.Model("dl-pr26")},
	{"milesight-em500-udl", milesight.UDLModel("em500-udl")},
	{"milesight-em310-udl", milesight.UDLModel("em310-udl")},
	{"milesight-vs121", milesight.NewVS121},
	{"dragino-dds75-lb", dragino.NewDDS75LB},
	{imbuildings.ID, imbuildings.New},
	{paxcounter.ID, paxcounter.New},
	// Civil protection (issue 13): river gauges and people counters.
	{"dragino-ldds75", dragino.NewLDDS75},
	{"milesight-vs133", milesight.NewVS133},
}

// Register registers every built-in codec in r.
func Register(r *codec.Registry) error {
	for _, n := range natives {
		if err := r.Register(n.id, n.ctor); err != nil {
			return fmt.Errorf("register codecs: %w", err)
		}
	}
	return nil
}

// NewRegistry returns a registry holding every built-in codec.
func NewRegistry() (*codec.Registry, error) {
	r := codec.NewRegistry()
	if err := Register(r); err != nil {
		return nil, err
	}
	return r, nil
}
