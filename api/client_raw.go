package api

import (
	"context"
	"fmt"
	"io"
	"net/url"
)

// Raw sends GET path (an escaped path under the node's address, such as
// "/metrics") with query (nil for none) and copies the 2xx answer's body
// to w as it is, returning the bytes copied. A non-2xx answer is returned
// as *Error. It serves diagnostics (hive debug) that keep the answers
// verbatim.
func (c *Client) Raw(ctx context.Context, path string, query url.Values, w io.Writer) (int64, error) {
	resp, done, err := c.send(ctx, &request{method: "GET", path: path, query: query, retry: true})
	if err != nil {
		return 0, err
	}
	defer done()
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("api: GET %s: reading the answer: %w", path, err)
	}
	return n, nil
}
