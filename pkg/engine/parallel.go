// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/graph"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/objects"
	"github.com/kuadrant/gateway-api-metrics-exporter/pkg/spec"
)

// AddFiles renders every object of the given files and directories (read as
// objects.Stream reads them) with the given number of workers: the body, the
// errors reported to onError and their order, and the error returned are
// those of calling AddJSON on each object in turn under objects.Stream.
//
// One goroutine cuts objects out of the files and routes them to their kind
// (so kinds appear in input order), workers decode and render batches of
// objects into per-object family bytes, and the caller's goroutine appends
// them to the kinds' renderers batch after batch in input order, so that each
// family's samples stay in input order as KSM writes them.
func (o *Offline) AddFiles(paths []string, workers int) error {
	files, err := objects.Files(paths)
	if err != nil {
		return err
	}
	workers = max(workers, 1)
	p := &pipeline{
		work:    make(chan *batch, 2*workers),
		ordered: make(chan *batch, 4*workers),
		free:    make(chan *batch, 4*workers+2*workers+2),
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A batch's text is kept until it is assembled, after its
			// objects and their samples are gone: decoded strings may
			// point into it.
			w := &worker{o: o, renderers: map[*Renderer]*Renderer{}, dec: objects.Decoder{Borrow: true}}
			for b := range p.work {
				if !p.stopped.Load() {
					w.render(b)
				}
				close(b.done)
			}
		}()
	}
	go p.read(o, files)
	for b := range p.ordered {
		<-b.done
		if err == nil {
			if err = o.assemble(b); err != nil {
				p.stopped.Store(true)
			}
		}
		b.reset()
		select {
		case p.free <- b:
		default:
		}
	}
	wg.Wait()
	return err
}

// OfflineGCPercent is the GOGC a process that only renders files runs with
// (`render`, unless GOGC is set): its live heap is the body rendered so far
// and the batches in flight, and its garbage is decoded objects, so
// collecting at 5x rather than 2x the live heap costs little memory and
// saves a tenth of the CPU (docs/benchmarks.md).
const OfflineGCPercent = 400

// batchBytes is how much JSON text a batch holds: enough that handing it
// from goroutine to goroutine costs nothing next to decoding it.
var batchBytes = 256 << 10

// A batch is consecutive objects of one file, with what rendering them gave.
type batch struct {
	file  string
	raw   []byte // the objects' JSON text, one after the other
	items []item
	// What the workers made of them.
	out    []byte  // each item's families, one item after the other
	ends   []int32 // each item's family ends, relative to its start in out
	errs   []evalError
	failed int // the item whose decoding failed, or -1
	// unmatched objects after the last item; err ends the input after
	// them: reading the file failed.
	unmatched int
	err       error
	done      chan struct{}
}

type item struct {
	rawEnd    int
	k         *offlineKind
	unmatched int // objects of no spec kind just before this one
	// Set by the worker.
	outEnd, endsEnd int
	decodeErr       error
	node            *graph.Node // with a graph: the object's, inserted in input order
}

type evalError struct {
	item int
	f    *spec.Family
	err  error
}

func (b *batch) reset() {
	clear(b.items)
	b.file, b.raw, b.items, b.out, b.ends, b.errs = "", b.raw[:0], b.items[:0], b.out[:0], b.ends[:0], b.errs[:0]
	b.failed, b.unmatched, b.err, b.done = -1, 0, nil, nil
}

type pipeline struct {
	work, ordered, free chan *batch
	stopped             atomic.Bool
}

var errStopped = errors.New("stopped")

func (p *pipeline) get(file string) *batch {
	select {
	case b := <-p.free:
		b.file = file
		b.done = make(chan struct{})
		return b
	default:
		// Room for a batch and its last object, so that it never grows.
		return &batch{file: file, failed: -1, done: make(chan struct{}), raw: make([]byte, 0, batchBytes+batchBytes/4), out: make([]byte, 0, batchBytes)}
	}
}

// send hands b to the workers and, in input order, to the assembler.
func (p *pipeline) send(b *batch) {
	p.ordered <- b
	p.work <- b
}

// read cuts objects out of files, in order, into batches, and looks up their
// kinds; the assembler lists kinds and counts unmatched objects as it meets
// them, so that both are AddJSON's up to an object that fails.
func (p *pipeline) read(o *Offline, files []string) {
	defer close(p.ordered)
	defer close(p.work)
	for _, name := range files {
		b := p.get(name)
		f, err := os.Open(name)
		if err != nil {
			b.err = err // as objects.Stream returns it
			p.send(b)
			return
		}
		err = objects.StreamReader(f, func(raw []byte) error {
			if p.stopped.Load() {
				return errStopped
			}
			apiVersion, kind, err := objects.Head(raw)
			if err != nil {
				return err
			}
			k := o.lookup(apiVersion, kind)
			if k == nil {
				b.unmatched++
				return nil
			}
			b.raw = append(b.raw, raw...)
			b.items = append(b.items, item{rawEnd: len(b.raw), k: k, unmatched: b.unmatched})
			b.unmatched = 0
			if len(b.raw) >= batchBytes {
				p.send(b)
				b = p.get(name)
			}
			return nil
		})
		_ = f.Close()
		if errors.Is(err, errStopped) {
			close(b.done) // never sent: nobody waits for it
			return
		}
		if err != nil {
			b.err = fmt.Errorf("%s: %w", name, err)
			p.send(b)
			return
		}
		if len(b.items) > 0 || b.unmatched > 0 {
			p.send(b)
		} else {
			close(b.done)
		}
	}
}

// A worker renders batches, keeping its own decoder and one renderer per
// kind and version, whose evaluator and base labels it reuses.
type worker struct {
	o         *Offline
	dec       objects.Decoder
	renderers map[*Renderer]*Renderer
	b         *batch
	cur       int
}

func (w *worker) render(b *batch) {
	w.b = b
	start := 0
	for i := range b.items {
		it := &b.items[i]
		raw := b.raw[start:it.rawEnd]
		start = it.rawEnd
		obj, err := w.dec.Decode(raw, it.k.fields)
		if err != nil {
			it.decodeErr = err
			b.failed = i
			return
		}
		r := w.renderers[it.k.r]
		if r == nil {
			r = NewRenderer(it.k.r.kind, it.k.r.gvk, w.onError)
			w.renderers[it.k.r] = r
		}
		w.cur = i
		b.out, b.ends = r.appendObject(b.out, b.ends, obj.(map[string]any))
		it.outEnd, it.endsEnd = len(b.out), len(b.ends)
		it.node = w.o.extract(it.k, r, obj.(map[string]any))
	}
}

// onError keeps an evaluation error for the assembler, which reports it in
// input order.
func (w *worker) onError(f *spec.Family, err error) {
	w.b.errs = append(w.b.errs, evalError{w.cur, f, err})
}

// assemble adds a rendered batch to the kinds' renderers; the error is the
// one AddJSON would have returned for the first object that failed.
func (o *Offline) assemble(b *batch) error {
	outStart, endsStart, e := 0, 0, 0
	for i := range b.items {
		it := &b.items[i]
		o.Unmatched += it.unmatched
		o.list(it.k)
		if i == b.failed {
			return fmt.Errorf("%s: %w", b.file, it.decodeErr)
		}
		for ; e < len(b.errs) && b.errs[e].item == i; e++ {
			if o.onError != nil {
				o.onError(b.errs[e].f, b.errs[e].err)
			}
		}
		it.k.r.AddRendered(b.out[outStart:it.outEnd], b.ends[endsStart:it.endsEnd])
		o.addToGraph(it.k, it.node)
		o.grew(it.outEnd - outStart)
		outStart, endsStart = it.outEnd, it.endsEnd
	}
	o.Unmatched += b.unmatched
	return b.err
}
