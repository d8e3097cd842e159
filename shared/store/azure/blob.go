package azure

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Container is one blob container: a store.Container. Safe for concurrent use.
type Container struct {
	name   string
	client *container.Client
}

// Put stores data under name in one request.
func (c *Container) Put(ctx context.Context, name string, data []byte, opt store.PutOptions) (store.BlobInfo, error) {
	uo := &blockblob.UploadOptions{}
	if opt.ContentType != "" {
		uo.HTTPHeaders = &blob.HTTPHeaders{BlobContentType: to.Ptr(opt.ContentType)}
	}
	if opt.CreateOnly {
		uo.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}
	} else if opt.IfMatch != "" {
		uo.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(opt.IfMatch))}}
	}
	resp, err := c.client.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), uo)
	if err != nil {
		err = mapErr("store.Put", c.name+"/"+name, err)
		if fault.Is(err, fault.PreconditionFailed) && opt.CreateOnly {
			// Some versions answer 412 instead of 409 to If-None-Match: *.
			return store.BlobInfo{}, fault.E("store.Put", fault.Conflict, fault.Path(c.name+"/"+name), "blob exists")
		}
		return store.BlobInfo{}, err
	}
	info := store.BlobInfo{Size: int64(len(data)), ContentType: opt.ContentType}
	if resp.ETag != nil {
		info.ETag = string(*resp.ETag)
	}
	if resp.LastModified != nil {
		info.LastModified = *resp.LastModified
	}
	return info, nil
}

// Get reads a whole blob; NotFound when absent. For blobs of bounded size
// (callers cap what they store).
func (c *Container) Get(ctx context.Context, name string) ([]byte, store.BlobInfo, error) {
	resp, err := c.client.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		return nil, store.BlobInfo{}, mapErr("store.Get", c.name+"/"+name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, store.BlobInfo{}, mapErr("store.Get", c.name+"/"+name, err)
	}
	info := store.BlobInfo{Size: int64(len(data)), ETag: string(deref(resp.ETag)),
		ContentType: deref(resp.ContentType), LastModified: deref(resp.LastModified)}
	return data, info, nil
}

// GetRange reads count bytes of a blob from offset (one ranged GET); NotFound
// when absent. Packs of many small contents are read this way, a span at a
// time, instead of one request per content.
func (c *Container) GetRange(ctx context.Context, name string, offset, count int64) ([]byte, error) {
	resp, err := c.client.NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: offset, Count: count}})
	if err != nil {
		return nil, mapErr("store.GetRange", c.name+"/"+name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, mapErr("store.GetRange", c.name+"/"+name, err)
	}
	if int64(len(data)) != count {
		return nil, fault.E("store.GetRange", fault.Internal, fault.Path(c.name+"/"+name), "short range read")
	}
	return data, nil
}

// Stat returns a blob's properties; NotFound when absent.
func (c *Container) Stat(ctx context.Context, name string) (store.BlobInfo, error) {
	resp, err := c.client.NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		return store.BlobInfo{}, mapErr("store.Stat", c.name+"/"+name, err)
	}
	return store.BlobInfo{Size: deref(resp.ContentLength), ETag: string(deref(resp.ETag)),
		ContentType: deref(resp.ContentType), LastModified: deref(resp.LastModified)}, nil
}

// Exists reports whether a blob exists.
func (c *Container) Exists(ctx context.Context, name string) (bool, error) {
	_, err := c.Stat(ctx, name)
	if fault.Is(err, fault.NotFound) {
		return false, nil
	}
	return err == nil, err
}

// Delete removes a blob; NotFound when absent.
func (c *Container) Delete(ctx context.Context, name string) error {
	_, err := c.client.NewBlobClient(name).Delete(ctx, nil)
	return mapErr("store.Delete", c.name+"/"+name, err)
}

// Lease is an exclusive blob lease: the building block for leader election
// and single-writer sections. A lease held by someone else is a Conflict.
type Lease struct {
	id     string
	client *lease.BlobClient
	what   string
}

// ID names the lease.
func (l *Lease) ID() string { return l.id }

// AcquireLease takes a lease of 15–60 s (or -1: infinite) on an existing blob.
func (c *Container) AcquireLease(ctx context.Context, name string, d time.Duration) (store.Lease, error) {
	bc := c.client.NewBlockBlobClient(name)
	lc, err := lease.NewBlobClient(bc, nil)
	if err != nil {
		return nil, fault.E("store.AcquireLease", fault.Internal, err)
	}
	secs := int32(-1)
	if d > 0 {
		secs = int32(d / time.Second)
	}
	if _, err := lc.AcquireLease(ctx, secs, nil); err != nil {
		return nil, mapErr("store.AcquireLease", c.name+"/"+name, err)
	}
	return &Lease{id: *lc.LeaseID(), client: lc, what: c.name + "/" + name}, nil
}

// Renew extends the lease by its duration; Conflict if it was lost.
func (l *Lease) Renew(ctx context.Context) error {
	_, err := l.client.RenewLease(ctx, nil)
	return mapErr("store.RenewLease", l.what, err)
}

// Release gives the lease up.
func (l *Lease) Release(ctx context.Context) error {
	_, err := l.client.ReleaseLease(ctx, nil)
	return mapErr("store.ReleaseLease", l.what, err)
}
