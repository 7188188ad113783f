package images

import (
	"testing"

	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/compiler/model"
)

func TestUses(t *testing.T) {
	f := token.NewFile("sys/system.cue", 0, 1000)
	for i := 0; i < 20; i++ {
		f.AddLine(i * 10)
	}
	pos := func(line int) model.Pos { return f.Pos((line-1)*10, token.NoRelPos) }
	img := func(ref string, line int) model.Image { return model.Image{Ref: ref, Pos: pos(line)} }
	local := &model.Resolved{System: &model.System{Components: []*model.Component{
		{Name: "web", Image: img("r/web:1", 5), Init: []model.InitContainer{{Image: img("r/migrate:1", 7)}}},
		{Name: "db", Image: img("r/db:2", 9)},
	}}}
	eks := &model.Resolved{System: &model.System{Components: []*model.Component{
		{Name: "web", Image: img("r/web:2", 12), Init: []model.InitContainer{{Image: img("r/migrate:1", 7)}}},
		{Name: "db", Image: img("r/db:2", 3)},
	}}}
	got := Uses([]*model.Resolved{local, eks})
	want := []struct {
		ref  string
		line int
	}{{"r/db:2", 3}, {"r/migrate:1", 7}, {"r/web:1", 5}, {"r/web:2", 12}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, w := range want {
		if got[i].Ref != w.ref || got[i].Pos.Position().Line != w.line {
			t.Errorf("use %d: %s at line %d, want %s at line %d", i, got[i].Ref, got[i].Pos.Position().Line, w.ref, w.line)
		}
	}
}
