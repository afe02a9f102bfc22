package api_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/hive-swarm/hive/api"
)

// A client for the node in HIVE_ADDR (or http://127.0.0.1:7070) creates a
// work order that waits for another, and tells a refused edge apart from
// other failures.
func Example() {
	c, err := api.NewClient(api.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	first, err := c.WorkOrders().Create(ctx, &api.CreateWorkOrderRequest{Title: "build", Labels: []string{"bug"}})
	if err != nil {
		log.Fatal(err)
	}
	second, err := c.WorkOrders().Create(ctx, &api.CreateWorkOrderRequest{Title: "release", DependsOn: []string{first.ID}})
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.WorkOrders().AddDependencies(ctx, first.ID, second.ID)
	var apiErr *api.Error
	if errors.As(err, &apiErr) && apiErr.Code == api.CodeCycle {
		fmt.Println("refused, it would close the cycle", apiErr.Cycle)
	}
	wo, err := c.WorkOrders().Get(ctx, "WO-404", &api.QueryOptions{Stale: true})
	if api.IsNotFound(err) {
		fmt.Println("no such work order")
	} else if err == nil {
		fmt.Println(wo.State)
	}
}
