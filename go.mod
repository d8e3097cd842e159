module github.com/studio-collab/collab

go 1.26.8
