package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func membersCommand() *cli.Command {
	return &cli.Command{
		Name:      "members",
		Usage:     "list the swarm's nodes",
		UsageText: "hive members",
		Description: description(`Lists every node gossip knows with its health (alive, suspect, dead, left)
and raft role (leader, voter, nonvoter, none); * marks the leader. AGENTS
lists the agent types a node offers as TYPE RUNNING/CAPACITY, and LOAD its
gossiped load in busy cores.`,
			"hive members",
			"hive members -json | jq '.members[] | select(.status==\"alive\") | .name'",
			"hive members -json | jq '.members[] | {name, load, agent_types}'"),
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 0, 0); err != nil {
				return err
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			ml, err := cl.Agent().Members(c.Context, queryOpts(c))
			if err != nil {
				return err
			}
			return output(c, ml, func(w io.Writer) error {
				t := newTable(w, "NAME", "ADDRESS", "HTTP", "RAFT", "STATUS", "ROLE", "LEADER", "AGENTS", "LOAD")
				for _, m := range ml.Members {
					leader := ""
					if m.Leader {
						leader = "*"
					}
					t.row(m.Name, m.Addr, m.HTTPAddr, m.RaftAddr, m.Status, m.RaftRole, leader,
						agentSlots(m.AgentTypes), fmt.Sprintf("%.2f", m.Load))
				}
				return t.flush()
			})
		},
	}
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show the addressed node's view of the swarm",
		UsageText: "hive status",
		Description: description(`Shows the swarm at a glance, as the node sees it: its name, the leader, raft
state, term and indexes, voter counts, members alive and failed, work orders
by state, WIP use against the limits, open andons and stopped lines, event
stream subscribers, the size and head of the receipt chain, and each member's
agent slots and load. A part that cannot be read is shown as a warning.`,
			"hive status",
			"hive --stale status -json   # works without a leader"),
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 0, 0); err != nil {
				return err
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			st, err := gatherStatus(c.Context, cl, queryOpts(c))
			if err != nil {
				return err
			}
			return output(c, st, st.print)
		},
	}
}

func joinCommand() *cli.Command {
	return &cli.Command{
		Name:      "join",
		Usage:     "make the addressed node join other members",
		UsageText: "hive join ADDR...",
		Description: description(`Asks the node at --address to join the members at the gossip addresses ADDR
(HOST:PORT, default port 7072).`,
			"hive join 10.0.0.5:7072",
			"hive --address http://10.0.0.9:7070 join 10.0.0.5:7072 10.0.0.6:7072"),
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 1, -1); err != nil {
				return err
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			addrs := c.Args().Slice()
			if err := cl.Agent().Join(c.Context, addrs...); err != nil {
				return err
			}
			return output(c, map[string]any{"joined": addrs}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Joined %d address(es) from %s\n", len(addrs), cl.Address())
				return err
			})
		},
	}
}

func leaveCommand() *cli.Command {
	return &cli.Command{
		Name:      "leave",
		Usage:     "make the addressed node leave gracefully and shut down",
		UsageText: "hive leave",
		Description: description(`Asks the node at --address to leave the swarm gracefully: it hands off
leadership and its voter seat, tells gossip it left, and shuts down.`,
			"hive --address http://10.0.0.9:7070 leave"),
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 0, 0); err != nil {
				return err
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			if err := cl.Agent().Leave(c.Context); err != nil {
				return err
			}
			return output(c, map[string]any{"left": cl.Address()}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s is leaving the swarm\n", cl.Address())
				return err
			})
		},
	}
}

// agentSlots renders a node's agent types as "shell 1/4, test 0/2"
// (running/capacity).
func agentSlots(slots []api.AgentSlot) string {
	parts := make([]string, 0, len(slots))
	for _, s := range slots {
		parts = append(parts, fmt.Sprintf("%s %d/%d", s.Type, s.Running, s.Capacity))
	}
	return strings.Join(parts, ", ")
}
