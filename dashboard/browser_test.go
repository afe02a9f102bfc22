package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/node/nodetest"
)

// browserWait bounds each wait for the page: generous, as the machine
// may be slow and shared.
const browserWait = 30 * time.Second

// chromium finds the browser. Under CI (CI set, not "false" or "0") a
// missing browser fails the test; elsewhere it skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal("chromium is not installed (Debian: apt-get install -y chromium); CI must run the browser tests")
	}
	t.Skip("chromium is not installed (Debian: apt-get install -y chromium)")
	return ""
}

// page is one browser tab driven through chromedp.
type page struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	exceptions []string // uncaught exceptions of the page's scripts
}

// newPage starts a headless Chromium fit for a container (as root, no
// sandbox, no GPU, no /dev/shm) and opens url. The browser is closed
// when the test ends, before anything cleaned up earlier (such as the
// cluster serving the page).
func newPage(t *testing.T, url string) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	p := &page{t: t, ctx: ctx}
	consoleDone := make(chan struct{})
	t.Cleanup(func() {
		defer func() { <-consoleDone }()
		closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing the browser: %v", err)
		}
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser without a timeout
		close(consoleDone)
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() {
				p.mu.Lock()
				p.exceptions = append(p.exceptions, fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line+1))
				p.mu.Unlock()
			}
		}
	}()
	p.do("open "+url, chromedp.Navigate(url))
	return p
}

// checkExceptions fails the test if the page's scripts threw.
func (p *page) checkExceptions() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.exceptions {
		p.t.Errorf("uncaught exception in the page: %s", e)
	}
}

// do runs actions with a deadline.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v\npage text:\n%s", what, err, p.text())
	}
}

// waitFor waits until the JavaScript expression is truthy.
func (p *page) waitFor(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")",
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserWait)))
	if err != nil {
		p.t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, p.text())
	}
}

// click clicks the first element matching a CSS selector, once it
// exists. The lookup and the click happen in one step inside the page:
// live updates re-render the lists, so a node found in one protocol
// round trip may be gone by the next (chromedp.Click's mouse events).
func (p *page) click(sel string) {
	p.t.Helper()
	q, err := json.Marshal(sel)
	if err != nil {
		p.t.Fatal(err)
	}
	p.waitFor("a click on "+sel, `(() => { const e = document.querySelector(`+string(q)+`); if (!e) return false; e.click(); return true; })()`)
}

// text is the page's visible text, for failure messages.
func (p *page) text() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 6000) : ""`))
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	return s
}

// sel quotes a CSS attribute value.
func sel(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// exists is a JavaScript expression true when sel matches an element.
func exists(sel string) string { return "!!document.querySelector(" + strconv.Quote(sel) + ")" }

// client returns an API client for the node with the given HTTP address.
func client(t *testing.T, addr string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: "http://" + addr})
	if err != nil {
		t.Fatalf("api client: %v", err)
	}
	return c
}

// TestDashboardInBrowser opens the dashboard of a follower of a live
// 3-node cluster in headless Chromium and checks what it shows: work
// orders created through the API (board, paged list, details with the
// dependency graph and receipts, SLA risk, andon, members), live updates
// when a work order completes, receipt verification, a killed node shown
// as failed, and the banner once the node has lost the cluster.
func TestDashboardInBrowser(t *testing.T) {
	chromium(t) // skip or fail before starting a cluster
	c := nodetest.NewCluster(t, 3)
	li := c.WaitForLeader()
	var followers []int
	for _, i := range c.Running() {
		if i != li {
			followers = append(followers, i)
		}
	}
	view := followers[0]
	cl := client(t, c.Node(view).HTTPAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wos := cl.WorkOrders()

	create := func(req *api.CreateWorkOrderRequest) *api.WorkOrder {
		t.Helper()
		wo, err := wos.Create(ctx, req)
		if err != nil {
			t.Fatalf("create %q: %v", req.Title, err)
		}
		return wo
	}
	alpha := create(&api.CreateWorkOrderRequest{Title: "dashboard alpha", Bucket: "reliability", Stage: "code"})
	beta := create(&api.CreateWorkOrderRequest{Title: "dashboard beta", DependsOn: []string{alpha.ID}})
	past := time.Now().Add(-time.Hour)
	late := create(&api.CreateWorkOrderRequest{Title: "dashboard late", Bucket: "security", Deadline: &past})
	const total = 120 // more than two pages of the list
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 3 + w; i < total; i += 6 {
				if _, err := wos.Create(ctx, &api.CreateWorkOrderRequest{Title: fmt.Sprintf("filler %d", i)}); err != nil {
					t.Errorf("create filler %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	page1, err := wos.List(ctx, &api.ListOptions{Limit: 50}, nil)
	if err != nil || page1.Next == "" {
		t.Fatalf("list page 1: next %q, %v", page1.Next, err)
	}
	page2, err := wos.List(ctx, &api.ListOptions{Limit: 50, After: page1.Next}, nil)
	if err != nil || len(page2.WorkOrders) != 50 {
		t.Fatalf("list page 2: %v", err)
	}

	p := newPage(t, "http://"+c.Node(view).HTTPAddr()+"/")
	row := func(id string) string { return sel(`#wo-rows tr[data-id=%q]`, id) }
	p.waitFor("the live stream", exists("#live.pill-ok"))
	p.waitFor("the first page of work orders", exists(row(alpha.ID))+
		` && document.querySelectorAll("#wo-rows tr[data-id]").length === 50`)
	p.waitFor("the kanban card and WIP of stage code", exists(sel(`#kanban-body .card[data-id=%q]`, alpha.ID))+
		" && "+exists(`#kanban-body .column[data-stage="code"] .wip[data-limit="5"]`))
	p.waitFor("three alive members", `document.querySelectorAll('#member-rows tr[data-status="alive"]').length === 3`)
	p.waitFor("no andon", exists(`#andon[data-andon="none"]`))
	p.waitFor("the breached SLA", exists(sel(`#sla-body tr[data-id=%q][data-sla="breached"]`, late.ID)))
	p.waitFor("no banner on a healthy cluster", `document.getElementById("banner").hidden`)

	// The list pages on the server.
	p.click("#wo-next")
	p.waitFor("page 2", exists(row(page2.WorkOrders[0].ID))+" && !"+exists(row(alpha.ID))+
		` && document.querySelectorAll("#wo-rows tr[data-id]").length === 50`)
	p.click("#wo-first")
	p.waitFor("page 1 again", exists(row(alpha.ID)))

	// Details: fields, the dependency graph, receipts.
	p.click(row(beta.ID))
	p.waitFor("the details of "+beta.ID, exists(sel(`#detail-body .detail-head[data-id=%q][data-state="blocked"]`, beta.ID))+
		" && "+exists(sel(`#detail-body svg.graph g.gnode[data-id=%q]`, alpha.ID))+
		" && "+exists(sel(`#detail-body svg.graph path.edge[data-from=%q][data-to=%q]`, alpha.ID, beta.ID))+
		" && "+exists(`#detail-body tr[data-seq]`))

	// Live: complete alpha through the API; the page follows the stream.
	if _, err := wos.Start(ctx, alpha.ID, &api.TransitionRequest{Agent: "test"}); err != nil && api.ErrorCode(err) != api.CodeAlreadyStarted {
		t.Fatalf("start %s: %v", alpha.ID, err)
	}
	if _, err := wos.Complete(ctx, alpha.ID, &api.TransitionRequest{Evidence: &api.Evidence{Artifact: "sku-1"}}); err != nil {
		t.Fatalf("complete %s: %v", alpha.ID, err)
	}
	p.waitFor(alpha.ID+" completed in the list", exists(sel(`#wo-rows tr[data-id=%q][data-state="completed"]`, alpha.ID)))
	p.waitFor(beta.ID+" unblocked", exists(sel(`#wo-rows tr[data-id=%q][data-state="queued"]`, beta.ID))+
		" && "+exists(sel(`#detail-body .detail-head[data-id=%q][data-state="queued"]`, beta.ID))+
		" && "+exists(sel(`#detail-body svg.graph g.gnode.s-completed[data-id=%q]`, alpha.ID)))
	p.waitFor(alpha.ID+" off the board", "!"+exists(sel(`#kanban-body .card[data-id=%q]`, alpha.ID)))
	p.waitFor("the event log", exists(`#event-log li[data-type="workorder.completed"]`))

	// Receipts: verify the chain, search by work order.
	p.click("#receipt-verify")
	p.waitFor("a verified chain", exists(`#verify-result[data-ok="true"]`))
	p.do("search receipts", chromedp.SetValue(chromedp.CSS(`#receipt-search input[name="workorder"]`), alpha.ID),
		chromedp.Click(chromedp.CSS(`#receipt-search button[type="submit"]`)))
	p.waitFor("the receipts of "+alpha.ID, sel(`(() => {
		const rows = [...document.querySelectorAll("#receipt-rows tr[data-seq]")];
		return rows.length >= 3 && rows.every((r) => r.children[2].textContent === %q);
	})()`, alpha.ID))

	p.checkExceptions()

	// A killed node shows as failed; the cluster still has a leader.
	// Leadership may have moved since the start: kill a node that is
	// neither the leader nor the one the page is on.
	li = c.WaitForLeader()
	victim, last := -1, -1
	for _, i := range c.Running() {
		switch {
		case i == view:
		case i != li && victim < 0:
			victim = i
		default:
			last = i
		}
	}
	name := c.Node(victim).Name()
	c.Kill(victim)
	p.waitFor(name+" failed", exists(sel(`#member-rows tr[data-member=%q][data-status="dead"]`, name)))
	p.waitFor("no banner while the cluster has a leader", `document.getElementById("banner").hidden`)

	// With a second node gone, the page's node has lost the cluster.
	c.Kill(last)
	p.waitFor("the lost-cluster banner", `!document.getElementById("banner").hidden && `+
		`document.getElementById("banner").textContent.includes("lost the cluster")`)
	p.checkExceptions()
}
